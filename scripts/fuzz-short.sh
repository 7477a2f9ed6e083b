#!/usr/bin/env bash
# fuzz-short.sh BUILD_DIR - a short libFuzzer session of the webhook parser.
# Runs BUILD_DIR/fuzz_webhook over a temporary copy of fuzz/corpus/webhook
# (the committed seeds stay untouched) for ${FUZZ_SECONDS:-30} seconds, fails
# when the fuzzer finds a crash, leak or sanitizer report, and prints one line.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:?usage: scripts/fuzz-short.sh BUILD_DIR}
seconds=${FUZZ_SECONDS:-30}
bin="$build/fuzz_webhook"
if [ ! -x "$bin" ]; then
  echo "fuzz-short: $bin not found (build it with: make build-fuzz)" >&2
  exit 1
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/fuzz-webhook.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/corpus" "$work/artifacts"
cp fuzz/corpus/webhook/* "$work/corpus/"
set +e
IC_LOG_LEVEL=error "$bin" -max_total_time="$seconds" -max_len=65536 -timeout=10 \
  -rss_limit_mb=2048 -artifact_prefix="$work/artifacts/" -print_final_stats=1 \
  "$work/corpus" >"$work/log" 2>&1
rc=$?
set -e
runs=$(grep -Eo 'stat::number_of_executed_units: *[0-9]+' "$work/log" | grep -Eo '[0-9]+$' || echo '?')
if [ "$rc" -ne 0 ]; then
  mkdir -p "$build/fuzz-crashes"
  cp "$work"/artifacts/* "$build/fuzz-crashes/" 2>/dev/null || true
  tail -n 40 "$work/log" >&2
  echo "fuzz-short: fuzz_webhook FAILED (exit $rc) after $runs runs; inputs kept in $build/fuzz-crashes/"
  exit 1
fi
echo "fuzz-short: fuzz_webhook ok: $runs runs in ${seconds}s, no crash"
