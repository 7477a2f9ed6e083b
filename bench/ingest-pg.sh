#!/usr/bin/env bash
# The ingest benchmark on PostgreSQL with one node: starts a throwaway server
# (scripts/pg-test-server.sh: initdb + pg_ctl on a free loopback port, fsync
# and synchronous_commit on), runs bench/ingest.py against it (a fresh
# database for the run, next to bench_pg_raw in the same database) and stops
# the server at the end, also on failure.
#
#   bench/ingest-pg.sh [BUILD_DIR] [requests]
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
requests=${2:-100000}
dir=$(mktemp -d "${TMPDIR:-/tmp}/ic-bench-pg-XXXXXX")
trap 'scripts/pg-test-server.sh stop "$dir"' EXIT
url=$(scripts/pg-test-server.sh start "$dir")
echo "PostgreSQL $(psql "$url" -Atc 'SHOW server_version'), synchronous_commit=$(psql "$url" -Atc 'SHOW synchronous_commit'), fsync=$(psql "$url" -Atc 'SHOW fsync')"
IC_TEST_PG_URL="$url" python3 bench/ingest.py "$build" "$requests"
