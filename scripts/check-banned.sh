#!/usr/bin/env bash
# Fails when our C code calls a function banned by DESIGN.md section 6.
set -euo pipefail
cd "$(dirname "$0")/.."
hits=$(grep -rnE '\b(strcpy|strcat|sprintf|vsprintf|strtok|atoi|atol|gets)\s*\(' \
         --include='*.c' --include='*.h' src tools tests fuzz bench 2>/dev/null \
       | grep -vE '^\S+:[0-9]+:\s*(//|/?\*)' || true)
if [ -n "$hits" ]; then
  echo "banned functions used (DESIGN.md section 6):"
  echo "$hits"
  exit 1
fi
echo "banned-function check: ok"
