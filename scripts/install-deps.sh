#!/usr/bin/env bash
# Installs the Debian packages impactchat needs to build, run and test, when
# any is missing. Runs apt-get as root, or through sudo. Safe to run often:
# it does nothing when everything is there.
# --browser: also Debian's chromium, for the browser tests (make test-browser).
set -euo pipefail

packages=(
  build-essential cmake pkg-config clang libclang-rt-14-dev clang-format
  libmicrohttpd-dev libjansson-dev libsqlite3-dev libcurl4-openssl-dev
  libsodium-dev libcmocka-dev sqlite3 libpq-dev postgresql python3 curl
)

# node and npm build the web app (esbuild from npm); Debian's nodejs, unless
# a node is already there.
command -v node >/dev/null || packages+=(nodejs)
command -v npm >/dev/null || packages+=(npm)
[ "${1:-}" = "--browser" ] && packages+=(chromium)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "installing Debian packages: ${missing[*]}"
as_root=()
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "error: need root or sudo to install ${missing[*]}" >&2; exit 1; }
  as_root=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
"${as_root[@]}" apt-get update -qq
"${as_root[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
