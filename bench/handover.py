#!/usr/bin/env python3
"""Outbound pacing through a lease handover (PostgreSQL, two nodes).

A private PostgreSQL, wa-sim at --mps R (--no-read), a channel at R and two
`impactchat serve` nodes; node 1 holds the channel's sender lease and status
webhooks go to node 2. About SECONDS x R template messages to distinct people
are queued through both nodes' API; node 1 is killed with SIGKILL after KILL
seconds of steady sending (counted from the end of the queueing), and node 2
takes the lease over once the lease row has expired.

wa-sim's GET /sim/stats `accepted` counter is sampled every 20 ms (wa-sim keeps
no per-send timestamps finer than a second). From the samples:
- before: accepted/s over [max(first accept + 2 s, end of queueing + 0.5 s),
  last accept before the stall] (queueing through the API competes with the
  sender for the CPU, so the steady window starts after it);
- after:  accepted/s over [first accept after the stall + 1 s, last accept - 1 s]
  (and the slowest sliding second in that window, min_1s);
- gap:    last accept before the stall to the first after it (+-20 ms); the
  kill's phase in the renewal period from the lease row (expires_us - ttl);
- kill->takeover, takeover->loaded, loaded->first send: from node 2's log
  (microsecond timestamps) against the kill's wall-clock time.
wa-sim's max_rate_1s (must be <= R), throttled_130429 and duplicates (must be
0). IC_SENDER_RECONCILE_MS is 600000, so what node 1 had marked "sending" stays
"unknown" (never resent here): reported as `unsettled`.

Usage: bench/handover.py [--build DIR] [--mps 200 ...] [--ttl-ms 10000 2000]
                         [--runs 3] [--seconds 25] [--kill-after 10] [--random-phase]
R = 500 needs --seconds 40: queueing 12,500 messages takes ~12 s here.
Temp folders (logs) are kept and printed. Loopback only; shares the machine.
"""
import argparse
import http.client as httpclient
import json
import os
import random
import signal
import statistics
import sys
import threading
import time
from datetime import datetime, timezone

ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
SAMPLE_S = 0.020


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default="build", help="build folder with impactchat and wa-sim")
    ap.add_argument("--mps", type=int, nargs="+", default=[200], help="throughput limit(s) R")
    ap.add_argument("--ttl-ms", type=int, nargs="+", default=[10000, 2000], help="lease ttl(s)")
    ap.add_argument("--runs", type=int, default=3, help="runs per configuration")
    ap.add_argument("--seconds", type=float, default=25.0, help="messages queued = seconds x R")
    ap.add_argument("--kill-after", type=float, default=10.0, help="steady seconds before the kill")
    ap.add_argument("--random-phase", action="store_true",
                    help="delay the kill by a random part of the renewal period (ttl/5); without it the"
                         " kill lands ~0.1 s after a renewal, the longest gap")
    return ap.parse_args()


ARGS = parse_args()
BUILD = os.path.abspath(ARGS.build)
os.environ.setdefault("IC_BIN_DIR", BUILD)
os.environ.setdefault("IC_TEST_TMP", os.path.join(BUILD, "tmp"))
os.environ.setdefault("IC_KEEP_TMP", "1")
sys.path.insert(0, os.path.join(ROOT, "tests/e2e"))
import harness  # noqa: E402
import pg_server  # noqa: E402
import test_multinode as mn  # noqa: E402


class Sampler(threading.Thread):
    """Polls wa-sim's accepted counter every SAMPLE_S on one keep-alive
    connection; samples are (monotonic midpoint of the request, accepted,
    throttled_130429)."""

    def __init__(self, port):
        super().__init__(daemon=True)
        self.port = port
        self.samples = []
        self.halt = threading.Event()

    def run(self):
        c = httpclient.HTTPConnection("127.0.0.1", self.port, timeout=10)
        nxt = time.monotonic()
        while not self.halt.is_set():
            t1 = time.monotonic()
            c.request("GET", "/sim/stats")
            st = json.loads(c.getresponse().read())
            t2 = time.monotonic()
            self.samples.append(((t1 + t2) / 2, st["accepted"], st["throttled_130429"]))
            nxt += SAMPLE_S
            time.sleep(max(0.0, nxt - time.monotonic()))
        c.close()


def queue_messages(sb, urls, n):
    """Queues n templates to distinct people, alternately through urls."""
    ka = mn.KeepAlive()
    headers = {"Authorization": "Bearer " + sb.token, "Content-Type": "application/json"}

    def worker(t):
        for i in range(t, n, 6):
            body = json.dumps({"channel_id": 1, "to": "2784%07d" % i, "message": {
                "type": "template", "template": {"name": "hello_world", "language": {"code": "en_US"}}}})
            st, data = ka.request("POST", urls[i % len(urls)] + "/api/v1/messages", body, headers)
            if st != 202:
                raise RuntimeError("queue: HTTP %d %s" % (st, data[:200]))
        ka.close()
    mn.run_threads(6, worker)


def log_event_wall(path, event):
    """Wall-clock seconds of the first line of event in a node log, or None."""
    with open(path, errors="replace") as f:
        for line in f:
            if "event=%s " % event in line or line.rstrip().endswith("event=" + event):
                ts = line.split()[0][3:]
                return datetime.strptime(ts, "%Y-%m-%dT%H:%M:%S.%fZ").replace(
                    tzinfo=timezone.utc).timestamp()
    return None


def rate_between(samples, t_from, t_to):
    """accepted/s between the first sample at or after t_from and the last at
    or before t_to."""
    a = next(s for s in samples if s[0] >= t_from)
    b = [s for s in samples if s[0] <= t_to][-1]
    return (b[1] - a[1]) / (b[0] - a[0]) if b[0] > a[0] else float("nan")


def min_1s(samples, t_from, t_to):
    """The fewest accepts in any 1-s window (sample to sample) in [t_from, t_to]."""
    w = [s for s in samples if t_from <= s[0] <= t_to]
    best, j = None, 0
    for i in range(len(w)):
        while j < len(w) and w[j][0] - w[i][0] < 1.0:
            j += 1
        if j >= len(w):
            break
        v = (w[j][1] - w[i][1]) / (w[j][0] - w[i][0])
        best = v if best is None or v < best else best
    return best


def one_run(pg, idx, rate, ttl_ms):
    name = "handover_%d_%d" % (os.getpid(), idx)
    pg.psql("CREATE DATABASE %s;" % name)
    load1 = os.getloadavg()[0]
    db = pg.url.rsplit("/", 1)[0] + "/" + name
    mn.MPS = rate
    mn.NODE_ENV.clear()
    mn.NODE_ENV.update({"IC_SENDER_LEASE_MS": str(ttl_ms), "IC_SENDER_RECONCILE_MS": "600000"})
    n = int(rate * ARGS.seconds)

    def sql_i(q):
        return int(harness.pg_select(db, q)[0][0])
    with mn.MultiSandbox(db) as sb:
        harness.wait_until(lambda: sql_i("SELECT count(*) FROM sender_leases WHERE node_id LIKE '%%:%d:%%'"
                                         % sb.ic.pid) == 1, what="node 1 holds the lease")
        _, url2 = sb.start_node()
        sb.register_number(webhook_url="%s/webhooks/whatsapp/%s" % (url2, sb.channel_uuid))
        sampler = Sampler(sb.sim_port)
        sampler.start()
        tq = time.monotonic()
        queue_messages(sb, [sb.url, url2], n)
        queue_s = time.monotonic() - tq
        t0 = next(s[0] for s in sampler.samples if s[1] > 0)
        # Queueing competes with the sender for the two cores: steady from its end.
        steady = max(t0 + 2.0, tq + queue_s + 0.5)
        extra = random.uniform(0, ttl_ms / 5000) if ARGS.random_phase else 0.0
        while time.monotonic() < steady + ARGS.kill_after + extra:
            time.sleep(0.01)
        t_kill, wall_kill = time.monotonic(), time.time()
        sb.ic.send_signal(signal.SIGKILL)  # node 1, the lease holder
        sb.ic.wait()
        # The row still holds node 1's last renewal (expires_us = renewal + ttl).
        renewed = sql_i("SELECT expires_us FROM sender_leases") / 1e6 - ttl_ms / 1000
        harness.wait_until(lambda: sql_i("SELECT count(*) FROM messages WHERE direction = 'out'"
                                         " AND status IN ('queued', 'sending')") == 0,
                           timeout=ARGS.seconds + ttl_ms / 1000 * 2 + 60, interval=0.5,
                           what="the outbox drained after the takeover")
        time.sleep(1.0)
        sampler.halt.set()
        sampler.join()
        st = sb.sim_stats()
        status = dict(harness.pg_select(db, "SELECT status, count(*) FROM messages"
                                            " WHERE direction = 'out' GROUP BY status"))
        epoch = sql_i("SELECT epoch FROM sender_leases")
        node2_log = os.path.join(sb.dir, "node2.log")
        taken = log_event_wall(node2_log, "sender_lease_taken")
        loaded = log_event_wall(node2_log, "sender_outbox_loaded")
        run_dir = sb.dir
    pg.psql("DROP DATABASE IF EXISTS %s WITH (FORCE);" % name)

    s = sampler.samples
    with open(os.path.join(run_dir, "samples.json"), "w") as f:
        json.dump({"t_kill": t_kill, "wall_kill": wall_kill, "samples": s}, f)
    changes = [s[i] for i in range(1, len(s)) if s[i][1] != s[i - 1][1]]
    # The stall: the longest pause between two accepts from 1 s before the kill on.
    cand = [(changes[i + 1][0] - changes[i][0], i) for i in range(len(changes) - 1)
            if changes[i + 1][0] >= t_kill - 1.0]
    _, i = max(cand)
    t_last, t_first = changes[i][0], changes[i + 1][0]
    t_end = changes[-1][0]
    r = {
        "R": rate, "ttl": ttl_ms / 1000, "n": n, "queue_s": queue_s,
        "before": rate_between(s, steady, t_last) / rate * 100, "before_s": t_last - steady,
        "after": rate_between(s, t_first + 1.0, t_end - 1.0) / rate * 100,
        "after_min1s": (min_1s(s, t_first + 1.0, t_end - 1.0) or float("nan")) / rate * 100,
        "after_s": t_end - t_first,
        "gap": t_first - t_last,
        "kill_to_resume": t_first - t_kill,
        "kill_to_take": taken - wall_kill if taken else float("nan"),
        "take_to_load": loaded - taken if taken and loaded else float("nan"),
        "load_to_send": (t_first - t_kill) - (loaded - wall_kill) if loaded else float("nan"),
        "take_to_send": (t_first - t_kill) - (taken - wall_kill) if taken else float("nan"),
        "max_rate_1s": st["max_rate_1s"], "throttled": st["throttled_130429"],
        "thr_after": s[-1][2] - next(x[2] for x in s if x[0] >= t_kill),
        "phase": wall_kill - renewed, "load1": load1,
        "duplicates": st["duplicates"], "accepted": st["accepted"], "epoch": epoch,
        "unsettled": sum(v for k, v in status.items() if k not in ("sent", "delivered", "read")),
        "status": status, "dir": run_dir
    }
    return r


COLS = [("before", "before, % of R", "%.1f"), ("after", "after, % of R", "%.1f"),
        ("after_min1s", "slowest 1 s after", "%.1f"), ("gap", "gap, s", "%.2f"),
        ("phase", "kill after renewal, s", "%.2f"), ("kill_to_take", "kill → lease taken, s", "%.2f"),
        ("take_to_send", "taken → first accept, s", "%.3f"), ("max_rate_1s", "max_rate_1s", "%d"),
        ("throttled", "130429: all; after kill", "%d"), ("duplicates", "dup", "%d"),
        ("unsettled", "unsettled", "%d")]


def run_line(r):
    """One run, for the log above the table."""
    return ("run R=%d ttl=%gs: n=%d queued in %.1fs; windows %.1fs before, %.1fs after;"
            " before %.1f%%, after %.1f%% (slowest 1 s %.1f%%);"
            " gap %.2fs, kill %.2fs after a renewal, kill->taken %.2fs, taken->loaded %.3fs,"
            " loaded->first accept %.3fs; max_rate_1s %d, 130429 %d (%d after the kill), duplicates %d;"
            " accepted %d, statuses %s, epoch %d; load average %.1f; logs %s" % (
                r["R"], r["ttl"], r["n"], r["queue_s"], r["before_s"], r["after_s"] - 2, r["before"],
                r["after"], r["after_min1s"], r["gap"], r["phase"], r["kill_to_take"], r["take_to_load"],
                r["load_to_send"], r["max_rate_1s"],
                r["throttled"], r["thr_after"], r["duplicates"], r["accepted"], json.dumps(r["status"]),
                r["epoch"], r["load1"], r["dir"]))


def cell(vals, fmt):
    med = statistics.median(vals)
    lo, hi = min(vals), max(vals)
    if lo == hi:
        return fmt % med
    return (fmt + " (" + fmt + "–" + fmt + ")") % (med, lo, hi)


def table_cell(rs, key, fmt):
    """Median (spread) of key over the runs rs; 130429 adds those after the kill."""
    if key == "throttled":
        return "%s; %s" % (cell([r[key] for r in rs], fmt), cell([r["thr_after"] for r in rs], fmt))
    return cell([r[key] for r in rs], fmt)


def main():
    why = pg_server.missing()
    if why:
        print("SKIP:", why)
        return 0
    pg = pg_server.PgServer(harness._ensure(os.environ["IC_TEST_TMP"]))
    pg.start()
    results, idx = [], 0
    try:
        for rate in ARGS.mps:
            for ttl in ARGS.ttl_ms:
                for _ in range(ARGS.runs):
                    idx += 1
                    r = one_run(pg, idx, rate, ttl)
                    results.append(r)
                    print(run_line(r), flush=True)
    finally:
        pg.stop()
    print()
    print("| R | ttl | runs | " + " | ".join(c[1] for c in COLS) + " |")
    print("|---|---|---|" + "---|" * len(COLS))
    for rate in ARGS.mps:
        for ttl in ARGS.ttl_ms:
            rs = [r for r in results if r["R"] == rate and r["ttl"] == ttl / 1000]
            print("| %d | %g s | %d | " % (rate, ttl / 1000, len(rs))
                  + " | ".join(table_cell(rs, k, f) for k, _, f in COLS) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
