#!/usr/bin/env bash
# The ingest benchmark on PostgreSQL: starts a throwaway server
# (scripts/pg-test-server.sh: initdb + pg_ctl on a free loopback port, fsync
# and synchronous_commit on), runs bench/ingest_nodes.py against it (raw
# pipelined inserts, one node and three nodes on one database, each in a
# fresh database, every measurement --runs times) and stops the server at
# the end, also on failure.
#
#   bench/ingest-pg.sh [BUILD_DIR] [requests] [runs]
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
requests=${2:-100000}
runs=${3:-3}
dir=$(mktemp -d "${TMPDIR:-/tmp}/ic-bench-pg-XXXXXX")
trap 'scripts/pg-test-server.sh stop "$dir"' EXIT
url=$(scripts/pg-test-server.sh start "$dir")
echo "PostgreSQL $(psql "$url" -Atc 'SHOW server_version'), synchronous_commit=$(psql "$url" -Atc 'SHOW synchronous_commit'), fsync=$(psql "$url" -Atc 'SHOW fsync')"
IC_TEST_PG_URL="$url" python3 bench/ingest_nodes.py "$build" --requests "$requests" --runs "$runs"
