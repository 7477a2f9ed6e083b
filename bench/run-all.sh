#!/usr/bin/env bash
# Runs every benchmark against the given build folder and prints the tables
# that bench/RESULTS.md keeps. Loopback only; takes several minutes.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
echo "## Ingest"; python3 bench/ingest.py "$build" 100000
echo; echo "## Outbound"
python3 bench/outbound.py "$build" 1000 100000
python3 bench/outbound.py "$build" 80 ${OUTBOUND_80_MESSAGES:-100000} | tail -1
echo; echo "## Ingest on PostgreSQL: raw baseline, one node, three nodes"
bench/ingest-pg.sh "$build" 100000
echo; echo "## Outbound pacing through a lease handover (PostgreSQL, two nodes)"
python3 bench/handover.py --build "$build" --mps 200 --runs 3
python3 bench/handover.py --build "$build" --mps 500 --seconds 40 --runs 3
