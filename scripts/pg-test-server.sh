#!/usr/bin/env bash
# A throwaway PostgreSQL server for the tests.
#
#   scripts/pg-test-server.sh start DIR   creates a cluster in DIR, starts it on
#                                         a free loopback port and prints its URL
#                                         (postgresql://postgres@127.0.0.1:PORT/postgres)
#   scripts/pg-test-server.sh stop DIR    stops it and removes DIR
#
# Uses Debian's binaries (/usr/lib/postgresql/*/bin, package `postgresql`).
# PostgreSQL refuses to run as root: as root, initdb and pg_ctl run as the
# `postgres` system user (made by the package) through runuser. Trust
# authentication on loopback only; fsync stays on so timings are honest.
set -euo pipefail

usage() { echo "usage: $0 start|stop DIR" >&2; exit 2; }
[ $# -eq 2 ] || usage
cmd=$1
dir=$2

bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
if [ -z "$bindir" ] || [ ! -x "$bindir/pg_ctl" ]; then
  echo "error: PostgreSQL server binaries not found (install the postgresql package: make deps)" >&2
  exit 1
fi

as_pg=()
if [ "$(id -u)" -eq 0 ]; then
  getent passwd postgres >/dev/null || { echo "error: no postgres system user" >&2; exit 1; }
  as_pg=(runuser -u postgres --)
fi

case "$cmd" in
start)
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  if [ -f "$dir/url" ] && "${as_pg[@]}" "$bindir/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; then
    cat "$dir/url" # already running
    exit 0
  fi
  [ ${#as_pg[@]} -eq 0 ] || chown postgres "$dir"
  rm -rf "$dir/data"
  "${as_pg[@]}" "$bindir/initdb" -D "$dir/data" -A trust -U postgres -E UTF8 --no-locale \
    >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; exit 1; }
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  if ! "${as_pg[@]}" "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
      -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=on -c max_connections=200" \
      start >/dev/null; then
    cat "$dir/server.log" >&2
    exit 1
  fi
  echo "postgresql://postgres@127.0.0.1:$port/postgres" >"$dir/url"
  cat "$dir/url"
  ;;
stop)
  if [ -d "$dir/data" ]; then
    "${as_pg[@]}" "$bindir/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
  fi
  rm -rf "$dir"
  ;;
*)
  usage
  ;;
esac
