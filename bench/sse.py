#!/usr/bin/env python3
"""Live updates: 2,000 SSE clients on one node, and how long an inbound
message takes to reach all of them.

Starts `impactchat serve` (SQLite in a temp folder, or --db a PostgreSQL URL
of an empty database) with RLIMIT_NOFILE raised, makes a workspace, a token
and a channel, then runs bench_sse (bench/bench_sse.c, one epoll thread) with
--clients streams of GET /api/v1/events. Once every stream is open, --events
signed inbound webhooks are posted one after the other (--gap-ms apart); for
each, the delay from just before the POST until each client read the
message.created event is recorded. Prints p50/p99/max over every (event,
client) pair, and the server's RSS before the clients connected and with
them connected (VmRSS from /proc), per connection.

Usage: bench/sse.py [--build DIR] [--clients 2000] [--events 20]
                    [--gap-ms 300] [--threads 2] [--db URL]
The target (issue 4): a new message reaches all 2,000 within 1 s.
Loopback only; shares the machine, so compare figures within one run.
"""
import argparse
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SECRET = "bench-app-secret"
PHONE_ID = "100000000000077"


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def raise_nofile():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = hard if hard != resource.RLIM_INFINITY else 65536
    resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    return want


def run_clients(a, port, token, uuid, pid, clients):
    """Runs bench_sse with this many clients; returns its summary's figures
    and the server's RSS before and with the clients, or None."""
    before = rss_kb(pid)
    cl = subprocess.Popen([os.path.join(a.build, "bench_sse"), "--port", str(port),
                           "--token", token, "--webhook", "/webhooks/whatsapp/" + uuid,
                           "--secret", SECRET, "--phone-id", PHONE_ID,
                           "--clients", str(clients), "--events", str(a.events),
                           "--gap-ms", str(a.gap_ms)],
                          stdout=subprocess.PIPE, text=True)
    out = {"rss_before": before, "rss_with": 0}
    for line in cl.stdout:
        line = line.rstrip()
        if line == "ready":
            time.sleep(0.5)
            out["rss_with"] = rss_kb(pid)
            continue
        if line.startswith("summary") or clients > 1:
            print(line, flush=True)
        if line.startswith("summary"):
            out.update({k: float(v) for k, v in re.findall(r"(\w+_ms)=([\d.]+)", line)})
    if cl.wait() != 0 or "p99_ms" not in out:
        return None
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--clients", type=int, default=2000)
    ap.add_argument("--events", type=int, default=20)
    ap.add_argument("--gap-ms", type=int, default=300)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--db", help="a PostgreSQL URL of an empty database (default: SQLite)")
    a = ap.parse_args()
    nofile = raise_nofile()  # inherited by the server and the client
    if nofile < a.clients + 256:
        sys.exit("RLIMIT_NOFILE's hard limit (%d) is too low for %d clients" % (nofile, a.clients))
    ic = os.path.join(a.build, "impactchat")
    tmp = tempfile.mkdtemp(prefix="bench-sse-")
    db = a.db or os.path.join(tmp, "ic.db")

    def cli(*args, env=None):
        e = dict(os.environ)
        e.update(env or {})
        return subprocess.run([ic] + list(args) + ["--db", db], capture_output=True, text=True,
                              env=e, check=True).stdout

    ws = int(re.search(r"workspace (\d+) created", cli("workspace", "create", "Bench")).group(1))
    token = cli("token", "create", "--workspace", str(ws), "--name", "bench").strip()
    out = cli("channel", "add", "--workspace", str(ws), "--phone-number-id", PHONE_ID,
              "--graph-url", "http://127.0.0.1:9/v21.0", "--verify-token", "v",
              env={"IC_ACCESS_TOKEN": "t", "IC_APP_SECRET": SECRET})
    uuid = re.search(r"/webhooks/whatsapp/(\S+)", out).group(1)
    log = open(os.path.join(tmp, "impactchat.log"), "w")
    srv = subprocess.Popen([ic, "serve", "--db", db, "--port", "0", "--threads", str(a.threads),
                            "--media-dir", os.path.join(tmp, "media")],
                           stdout=subprocess.PIPE, stderr=log, text=True)
    try:
        port = int(re.search(r":(\d+)", srv.stdout.readline()).group(1))
        time.sleep(0.5)
        base = run_clients(a, port, token, uuid, srv.pid, 1)  # the baseline, same server
        r = run_clients(a, port, token, uuid, srv.pid, a.clients)
        if not base or not r:
            print("bench_sse failed; logs in %s" % tmp)
            return 1
        per_conn = (r["rss_with"] - r["rss_before"]) / a.clients
        print("server RSS: %.1f MB before, %.1f MB with %d streams: %.1f KB per stream"
              % (r["rss_before"] / 1024, r["rss_with"] / 1024, a.clients, per_conn))
        print("p99 with %d clients / p99 with 1: %.1fx (%.1f ms / %.1f ms)"
              % (a.clients, r["p99_ms"] / max(base["p99_ms"], 0.001), r["p99_ms"], base["p99_ms"]))
        return 0
    finally:
        srv.terminate()
        try:
            srv.wait(timeout=30)
        except subprocess.TimeoutExpired:
            srv.kill()
            srv.wait()
        srv.stdout.close()
        log.close()
        if not os.environ.get("IC_KEEP_TMP"):
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
