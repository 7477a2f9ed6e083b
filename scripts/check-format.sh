#!/usr/bin/env bash
# Fails when a C file differs from what .clang-format says.
set -euo pipefail
cd "$(dirname "$0")/.."
files=$(git ls-files '*.c' '*.h' 2>/dev/null || find src tools tests fuzz bench -name '*.[ch]')
[ -z "$files" ] && exit 0
bad=0
for f in $files; do
  [ -f "$f" ] || continue
  if ! clang-format --dry-run --Werror "$f" >/dev/null 2>&1; then
    echo "not formatted: $f (run: make format)"; bad=1
  fi
done
[ $bad -eq 0 ] && echo "format check: ok"
exit $bad
