#!/usr/bin/env python3
"""Ingest benchmark: signed text webhooks from many concurrent connections
into one `impactchat serve`, next to raw batch inserts of the same rows into
the same database engine in the same run. On SQLite by default; on PostgreSQL
when IC_TEST_PG_URL is set (the harness makes a fresh database for the run;
the baseline is bench_pg_raw: pipelined inserts, synchronous_commit=on).
Usage: bench/ingest.py BUILD_DIR [requests]"""
import json
import os
import subprocess
import sys

BUILD = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else "build")
REQUESTS = int(sys.argv[2]) if len(sys.argv) > 2 else 100000
os.environ.setdefault("IC_BIN_DIR", BUILD)
os.environ.setdefault("IC_TEST_TMP", os.path.join(BUILD, "tmp"))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "../tests/e2e"))
from harness import APP_SECRET, PG_URL, Sandbox  # noqa: E402


def run(args):
    out = subprocess.run(args, capture_output=True, text=True, check=False)
    if out.returncode not in (0, 1):
        raise RuntimeError(out.stderr)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main():
    results = {}
    with Sandbox(start_sim=False, env={"IC_LOG_LEVEL": "warn"}) as sb:
        for conns, per in ((64, 1), (256, 1), (64, 10)):
            n = REQUESTS // per
            r = run([os.path.join(BUILD, "bench_load"), "--url", sb.webhook_url, "--secret", APP_SECRET,
                     "--connections", str(conns), "--requests", str(n), "--per-request", str(per)])
            results["%d conns, %d msg/webhook" % (conns, per)] = r
        stored = sb.sql("SELECT count(*) FROM messages WHERE direction = 'in'")[0][0]
        acked = sum(r["acknowledged_messages"] for r in results.values())
        if PG_URL:
            baseline = run([os.path.join(BUILD, "bench_pg_raw"), "--url", sb.db,
                            "--rows", str(REQUESTS), "--batch", "1000"])
            raw_name = "raw PostgreSQL pipelined batch insert (1,000 rows per commit, synchronous_commit=on)"
        else:
            baseline = run([os.path.join(BUILD, "bench_sqlite_raw"), "--db", os.path.join(sb.dir, "raw.db"),
                            "--rows", str(REQUESTS), "--batch", "1000"])
            raw_name = "raw SQLite batch insert (1,000 rows per commit, WAL, synchronous=FULL)"
    print("backend: %s" % ("postgres" if PG_URL else "sqlite"))
    print("| load | messages/s | p50 ms | p99 ms | max ms | acknowledged | 5xx |")
    print("|---|---|---|---|---|---|---|")
    for k, r in results.items():
        print("| %s | %d | %.2f | %.2f | %.2f | %d | %d |" % (k, r["messages_per_s"], r["p50_ms"], r["p99_ms"],
                                                          r["max_ms"], r["acknowledged_messages"], r["http_5xx"]))
    print("\n%s: %d rows/s" % (raw_name, baseline["rows_per_s"]))
    print("rows stored %d, acknowledgements %d: %s" % (stored, acked, "equal" if stored == acked else "DIFFERENT"))
    return 0 if stored == acked else 1


if __name__ == "__main__":
    sys.exit(main())
