#!/usr/bin/env python3
"""Ingest on PostgreSQL with one node and with three, next to the raw
pipelined baseline, all against the same PostgreSQL server in one run.

Every repetition measures, each in a fresh database:
  - raw: bench_pg_raw, pipelined batch inserts of the same rows (1,000 per
    commit, synchronous_commit=on);
  - 1 node: signed text webhooks (bench_load) into one `impactchat serve`;
  - 3 nodes: three `impactchat serve` processes on the one database, each on
    its own port, with bench_load spreading its connections over the three
    webhook URLs round-robin (request i goes to node i mod 3).
The machine is shared, so every measurement is repeated (--runs, at least 3
for a figure worth keeping) and the table gives the median with the lowest
and highest run; ratios are medians over the raw baseline's median.

Usage (IC_TEST_PG_URL: the maintenance URL of a throwaway server, as
bench/ingest-pg.sh starts one):
  bench/ingest_nodes.py BUILD_DIR [--requests 100000] [--runs 3] [--connections 64,256]
"""
import argparse
import json
import os
import statistics
import subprocess
import sys

ARGS = argparse.ArgumentParser(description=__doc__.splitlines()[0])
ARGS.add_argument("build", nargs="?", default="build")
ARGS.add_argument("--requests", type=int, default=100000, help="webhooks per load (one message each)")
ARGS.add_argument("--runs", type=int, default=3, help="repetitions of every measurement")
ARGS.add_argument("--connections", default="64,256", help="comma-separated connection counts")
ARGS.add_argument("--nodes", default="1,3", help="comma-separated node counts")
OPT = ARGS.parse_args()
BUILD = os.path.abspath(OPT.build)
os.environ.setdefault("IC_BIN_DIR", BUILD)
os.environ.setdefault("IC_TEST_TMP", os.path.join(BUILD, "tmp"))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "../tests/e2e"))
from harness import APP_SECRET, PG_URL, Sandbox, stop_process, wait_for_line  # noqa: E402


def run_json(args):
    out = subprocess.run(args, capture_output=True, text=True, check=False, timeout=600)
    if out.returncode not in (0, 1) or not out.stdout.strip():
        raise RuntimeError("%s failed: %s" % (os.path.basename(args[0]), out.stderr.strip()))
    return json.loads(out.stdout.strip().splitlines()[-1])


def start_node(sb, i):
    """Another `impactchat serve` on the sandbox's database, on a free port;
    returns (process, its webhook URL)."""
    log = open(os.path.join(sb.dir, "node%d.log" % i), "w")
    sb.logs.append(log)
    p = subprocess.Popen([os.path.join(BUILD, "impactchat"), "serve", "--db", sb.db, "--port", "0",
                          "--media-dir", os.path.join(sb.dir, "media%d" % i)],
                         stdout=subprocess.PIPE, stderr=log, text=True, env=sb.env)
    try:
        port = int(wait_for_line(p, r"listening on http://127\.0\.0\.1:(\d+)").group(1))
    except Exception:
        p.kill()
        p.wait()
        raise
    return p, "http://127.0.0.1:%d/webhooks/whatsapp/%s" % (port, sb.channel_uuid)




def measure_nodes(nodes, conns):
    """One load into `nodes` nodes sharing a fresh database."""
    with Sandbox(start_sim=False, env={"IC_LOG_LEVEL": "warn"}) as sb:
        extra = []
        try:
            for i in range(1, nodes):
                extra.append(start_node(sb, i))
            urls = [sb.webhook_url] + [u for _, u in extra]
            r = run_json([os.path.join(BUILD, "bench_load"), "--url", ",".join(urls), "--secret", APP_SECRET,
                          "--connections", str(conns), "--requests", str(OPT.requests)])
        finally:
            codes = [stop_process(p) for p, _ in extra]
        r["stored"] = sb.sql("SELECT count(*) FROM messages WHERE direction = 'in'")[0][0]
        if any(c != 0 for c in codes):
            raise RuntimeError("a node exited %s on SIGTERM (logs in %s)" % (codes, sb.dir))
        return r


def measure_raw():
    with Sandbox(start_sim=False, env={"IC_LOG_LEVEL": "warn"}) as sb:
        return run_json([os.path.join(BUILD, "bench_pg_raw"), "--url", sb.db, "--rows", str(OPT.requests),
                         "--batch", "1000"])


def spread(values):
    return "%s (%s–%s)" % (fmt(statistics.median(values)), fmt(min(values)), fmt(max(values)))


def fmt(v):
    return "{:,.0f}".format(v) if v >= 100 else "%.1f" % v


def main():
    if not PG_URL:
        print("ingest_nodes.py needs IC_TEST_PG_URL (bench/ingest-pg.sh sets it)", file=sys.stderr)
        return 2
    conns = [int(c) for c in OPT.connections.split(",")]
    node_counts = [int(n) for n in OPT.nodes.split(",")]
    raw, loads = [], {(n, c): [] for n in node_counts for c in conns}
    ok = True
    for run in range(OPT.runs):
        raw.append(measure_raw()["rows_per_s"])
        print("run %d: raw %.0f rows/s" % (run + 1, raw[-1]), file=sys.stderr)
        for c in conns:
            for n in node_counts:
                r = measure_nodes(n, c)
                loads[(n, c)].append(r)
                good = r["stored"] == r["acknowledged_messages"] and r["http_5xx"] == 0
                ok = ok and good
                print("run %d: %d node(s), %d connections: %.0f messages/s, p99 %.1f ms, stored %d of %d%s"
                      % (run + 1, n, c, r["messages_per_s"], r["p99_ms"], r["stored"], r["acknowledged_messages"],
                         "" if good else " MISMATCH"), file=sys.stderr)
    raw_med = statistics.median(raw)
    print("PostgreSQL ingest, %d webhooks of one message per load, %d runs each: median (lowest–highest)"
          % (OPT.requests, OPT.runs))
    print()
    print("| load | messages/s | of raw | p50 ms | p99 ms | max ms | stored = acknowledged, no 5xx |")
    print("|---|---|---|---|---|---|---|")
    print("| raw pipelined batch insert (1,000 rows per commit) | %s rows/s | 100%% | | | | |" % spread(raw))
    for (n, c), rs in loads.items():
        rate = [r["messages_per_s"] for r in rs]
        print("| %d node%s, %d connections | %s | %.1f%% | %s | %s | %s | %s |"
              % (n, "s" if n > 1 else "", c, spread(rate), 100.0 * statistics.median(rate) / raw_med,
                 spread([r["p50_ms"] for r in rs]), spread([r["p99_ms"] for r in rs]),
                 spread([r["max_ms"] for r in rs]),
                 "yes" if all(r["stored"] == r["acknowledged_messages"] and r["http_5xx"] == 0 for r in rs)
                 else "NO"))
    for c in conns:
        if 1 in node_counts and 3 in node_counts:
            one = statistics.median(r["messages_per_s"] for r in loads[(1, c)])
            three = statistics.median(r["messages_per_s"] for r in loads[(3, c)])
            print("\n%d connections: three nodes / one node = %.2f" % (c, three / one), end="")
    print()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
