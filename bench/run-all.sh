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
