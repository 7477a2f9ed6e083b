"""End to end: PostgreSQL restarts (pg_ctl -m fast, then -m immediate, a
crash restart), then every impactchat connection dropped
(pg_terminate_backend), under a webhook flood. impactchat must stay up, answer the
requests it cannot store 503 (Meta retries), reconnect, and keep every
message it answered 200: after Meta-style re-sends of everything not
answered 200, each message is stored exactly once. A wrong connection string
must fail `serve` at once with a clear message that never shows a password.

The test brings its own private PostgreSQL server (tests/e2e/pg_server.py),
never the shared one of `make test-pg`, so it runs in the SQLite pass too; it
prints SKIP and exits 0 when the PostgreSQL binaries are missing.
"""
import json
import os
import random
import re
import subprocess
import threading
import time
import unittest
import zlib

import harness
import pg_server
from harness import BIN, TMP, http, sign, text_webhook

THREADS = 6
ACKS_PER_PHASE = 300  # 200s wanted before the first restart, and after each
RECOVERY_BOUND_S = 10  # from pg_ctl's return to the first new message stored
DUP_RATE = 0.1  # share of requests re-sending an acknowledged message
BACKOFF_S = 0.02  # a flood thread's pause after an answer other than 200
PREFIX = "wamid.pgr-"
PASSWORD = "s3cr3t-pw-e2e"
TS = int(time.time())


class PgSandbox(harness.Sandbox):
    """A harness Sandbox (no wa-sim) on a given PostgreSQL URL instead of
    SQLite or IC_TEST_PG_URL's server."""

    def __init__(self, url):
        saved, harness.PG_URL = harness.PG_URL, None  # no database on the shared server
        try:
            super().__init__(start_sim=False)
        finally:
            harness.PG_URL = saved
        self.db = url


class Flood:
    """THREADS threads posting signed webhooks with unique wamids (and some
    duplicates of acknowledged ones) until stopped; every answer is kept."""

    def __init__(self, sb):
        self.sb = sb
        self.lock = threading.Lock()
        self.stop_ev = threading.Event()
        self.records = []  # (wamid, kind, status, sent_at, answered_at, json)
        self.acked = set()  # wamids answered 200 at least once
        self.acked_list = []
        self.sent = set()
        self.conn_errors = []
        self.threads = [threading.Thread(target=self.run, args=(t,)) for t in range(THREADS)]

    def post(self, wamid, kind):
        # The body depends on the wamid only: a re-send is the same webhook.
        body = text_webhook(wamid, wa_id="2783%07d" % (zlib.crc32(wamid.encode()) % 300),
                            body="restart load", ts=TS)
        sent = time.time()
        try:
            st, js, hdrs = http("POST", self.sb.webhook_url, body,
                             {"Content-Type": "application/json", "X-Hub-Signature-256": sign(body)},
                             timeout=10)
        except OSError as e:  # impactchat refused, reset or hung: it must not
            with self.lock:
                self.conn_errors.append((wamid, kind, repr(e)))
            return None
        with self.lock:
            if st == 503 and not hdrs.get("Retry-After"):
                js = {"missing": "Retry-After", "body": js}
            self.records.append((wamid, kind, st, sent, time.time(), js))
            if st == 200 and wamid not in self.acked:
                self.acked.add(wamid)
                self.acked_list.append(wamid)
        return st

    def run(self, t):
        rnd = random.Random(t)
        i = 0
        while not self.stop_ev.is_set():
            with self.lock:
                dup = self.acked_list[rnd.randrange(len(self.acked_list))] \
                    if self.acked_list and rnd.random() < DUP_RATE else None
            if dup:
                if self.post(dup, "dup") != 200:
                    time.sleep(BACKOFF_S)
                continue
            wamid = "%s%d-%d" % (PREFIX, t, i)
            i += 1
            with self.lock:
                self.sent.add(wamid)
            if self.post(wamid, "new") != 200:
                time.sleep(BACKOFF_S)  # as Meta backs off; keeps the outage's backlog small

    def resend(self, wamids):
        """Re-sends wamids from THREADS threads; returns those not answered 200."""
        failed, lock = [], threading.Lock()

        def worker(part):
            for w in part:
                if self.post(w, "retry") != 200:
                    with lock:
                        failed.append(w)
        ths = [threading.Thread(target=worker, args=(wamids[k::THREADS],)) for k in range(THREADS)]
        for th in ths:
            th.start()
        for th in ths:
            th.join()
        return sorted(failed)

    def start(self):
        for th in self.threads:
            th.start()

    def stop(self):
        self.stop_ev.set()
        for th in self.threads:
            th.join()

    def n_acked(self):
        with self.lock:
            return len(self.acked)

    def wait_acked(self, n, timeout=30):
        deadline = time.time() + timeout
        while self.n_acked() < n:
            if time.time() > deadline:
                raise AssertionError("only %d of %d webhooks answered 200 within %d s"
                                     % (self.n_acked(), n, timeout))
            if self.sb.ic.poll() is not None:
                raise AssertionError("impactchat exited with %s" % self.sb.ic.returncode)
            time.sleep(0.01)

    def first_new_200_after(self, t0, timeout):
        """Seconds from t0 until a new message sent after t0 was answered 200."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            with self.lock:
                ok = [r[4] for r in self.records if r[1] == "new" and r[2] == 200 and r[3] >= t0]
            if ok:
                return min(ok) - t0
            if self.sb.ic.poll() is not None:
                raise AssertionError("impactchat exited with %s" % self.sb.ic.returncode)
            time.sleep(0.01)
        raise AssertionError("no webhook answered 200 within %d s of the restart" % timeout)


def count_events(sb, event):
    """How many lines of sb's impactchat log have event=EVENT."""
    try:
        with open(os.path.join(sb.dir, "impactchat.log"), errors="replace") as f:
            return sum(1 for line in f if " event=%s " % event in line)
    except OSError:
        return 0


def serve_with(url, workdir):
    """Runs `impactchat serve --db url`; returns (exit status, stderr, seconds)."""
    t0 = time.time()
    p = subprocess.run([os.path.join(BIN, "impactchat"), "serve", "--db", url, "--port", "0",
                        "--media-dir", os.path.join(workdir, "media")],
                       capture_output=True, text=True, timeout=30)
    return p.returncode, p.stderr + p.stdout, time.time() - t0


class BadUrlTest(unittest.TestCase):
    def test_wrong_connection_string_fails_fast_without_the_password(self):
        os.makedirs(TMP, exist_ok=True)
        cases = [
            # No server there: refused at once.
            ("postgres://nobody:%s@127.0.0.1:1/nothing" % PASSWORD, "127.0.0.1:1"),
            ("postgres://nobody@127.0.0.1:1/nothing", "127.0.0.1:1"),
            # Malformed: libpq cannot parse it (its own message quotes the URI).
            ("postgres://nobody:%s@[::1/nothing" % PASSWORD, "URL"),
            ("postgresql://nobody:%s@127.0.0.1:notaport/x" % PASSWORD, "port"),
            ("postgresql://nobody:%s@127.0.0.1:1/x?bogus=1" % PASSWORD, "bogus"),
        ]
        for url, hint in cases:
            with self.subTest(url=url.replace(PASSWORD, "***")):
                rc, err, secs = serve_with(url, TMP)
                shown = err.replace(PASSWORD, "***")
                self.assertNotEqual(rc, 0, shown)
                self.assertLess(secs, 15, shown)
                self.assertNotIn("listening on", err)
                self.assertIn("PostgreSQL", err, shown)
                self.assertIn(hint, err, shown)
                self.assertFalse(PASSWORD in err, "the password is shown: " + shown)


class PgRestartTest(unittest.TestCase):
    def setUp(self):
        self.srv = pg_server.start_for(self, TMP)
        self.url = self.srv.url

    def test_restarts_under_load_lose_nothing_acknowledged(self):
        # A 200 must stand for a commit the server cannot lose.
        self.assertEqual(self.srv.psql("SELECT current_setting('synchronous_commit'),"
                                       " current_setting('fsync');").strip(), "on|on")
        t_start = time.time()
        with PgSandbox(self.url) as sb:
            flood = Flood(sb)
            flood.start()
            windows = []
            try:
                flood.wait_acked(ACKS_PER_PHASE)
                for mode in ("fast", "immediate", "terminate"):
                    lost_before = count_events(sb, "db_connection_lost")
                    t0 = time.time()
                    if mode == "terminate":  # dropped connections, the server stays up
                        n = self.srv.psql("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                                          " WHERE application_name = 'impactchat';")
                        self.assertGreater(int(n), 0, "no impactchat connection to drop")
                    else:
                        self.srv.restart(mode)
                    t1 = time.time()
                    recovery = flood.first_new_200_after(t1, RECOVERY_BOUND_S)
                    flood.wait_acked(flood.n_acked() + ACKS_PER_PHASE)
                    windows.append((mode, t0, t1, t1 + recovery,
                                    count_events(sb, "db_connection_lost") - lost_before))
            finally:
                flood.stop()
            self.assertIsNone(sb.ic.poll(), "impactchat exited during the restarts")
            self.assertEqual(flood.conn_errors[:5], [], "%d webhooks got no HTTP answer"
                             % len(flood.conn_errors))

            statuses = {}
            for r in flood.records:
                statuses[r[2]] = statuses.get(r[2], 0) + 1
            self.assertEqual(set(statuses) - {200, 503}, set(), statuses)
            first_t0 = windows[0][1]
            early = [r for r in flood.records if r[2] != 200 and r[4] < first_t0]
            self.assertEqual(early[:3], [], "refused before any restart")
            for i, (mode, t0, t1, t_ok, lost) in enumerate(windows):
                end = windows[i + 1][1] if i + 1 < len(windows) else float("inf")
                in_window = [r for r in flood.records if r[4] >= t0 and r[3] <= t_ok]
                n503 = sum(1 for r in in_window if r[2] == 503)
                print("%s: pg_ctl/psql took %.2f s, first new 200 %.2f s after it;"
                      " %d answers in the window, %d of them 503"
                      % (mode, t1 - t0, t_ok - t1, len(in_window), n503))
                late = [r for r in flood.records if r[2] != 200 and t_ok < r[3] and r[4] < end]
                last = max([r[4] for r in late], default=t_ok)
                kinds = {}
                for r in late:
                    e = r[5].get("error") if isinstance(r[5], dict) else None
                    k = str(e.get("code") if isinstance(e, dict) else r[5])[:40]
                    kinds[k] = kinds.get(k, 0) + 1
                print("after %s: %d more 503 (%s) until %.2f s after the first new 200"
                      % (mode, len(late), json.dumps(kinds), last - t_ok))
                # impactchat saw its connections end.
                self.assertGreater(lost, 0, "no connection lost around %s: nothing was tested" % mode)
                if mode != "terminate":
                    # The server is down for a moment: some 503s are certain
                    # while the flood runs. A dropped connection that was idle
                    # is found closed before its next statement and replaced
                    # without failing it, so terminate may give none.
                    self.assertGreater(n503, 0, "no 503 around %s: nothing was tested" % mode)

            no_retry_after = [r for r in flood.records
                              if r[2] == 503 and isinstance(r[5], dict) and "missing" in r[5]]
            self.assertEqual(no_retry_after[:3], [], "503s without Retry-After")

            # An acknowledged duplicate is acknowledged again and not stored again.
            for wamid, kind, st, _, _, js in flood.records:
                if kind == "dup" and st == 200:
                    self.assertEqual((js.get("messages"), js.get("duplicates")), (0, 1), (wamid, js))
                if kind == "new" and st == 200:
                    self.assertEqual((js.get("messages"), js.get("duplicates")), (1, 0), (wamid, js))

            # Meta re-sends everything not answered 200 until it is.
            pending, rounds = sorted(flood.sent - flood.acked), 0
            resent = len(pending)
            deadline = time.time() + 20
            while pending and time.time() < deadline:
                rounds += 1
                pending = flood.resend(pending)
                if pending:
                    time.sleep(0.2)
            self.assertEqual(pending[:5], [], "%d messages never answered 200 on re-send" % len(pending))
            self.assertEqual(flood.conn_errors[:5], [])

            # impactchat is ready: its store reads and its writer commits.
            st, js, _ = http("GET", sb.url + "/readyz")
            self.assertEqual(st, 200, js)

            rows = self.srv.psql("SELECT wa_id, count(*) FROM messages WHERE wa_id LIKE '%s%%'"
                                 " GROUP BY wa_id;" % PREFIX)
            stored = {}
            for line in rows.splitlines():
                if line.strip():
                    w, n = line.rsplit("|", 1)
                    stored[w] = int(n)
            lost = sorted(w for w in flood.acked if w not in stored)
            self.assertEqual(lost[:5], [], "%d messages answered 200 are not stored" % len(lost))
            twice = sorted(w for w, n in stored.items() if n != 1)
            self.assertEqual(twice[:5], [], "%d messages stored more than once" % len(twice))
            self.assertEqual(set(stored), flood.sent, "stored messages that were never sent?")

            with open(os.path.join(sb.dir, "impactchat.log"), errors="replace") as f:
                log = f.read()
            print("%d webhooks sent (%s), %d distinct messages, %d messages re-sent in %d rounds"
                  " after the flood; log: %d db_connection_lost, %d db_reconnected, %d db_reconnect_failed; %.1f s"
                  % (len(flood.records), json.dumps(statuses), len(flood.sent), resent, rounds,
                     len(re.findall(r"db_connection_lost", log)), len(re.findall(r"db_reconnected", log)),
                     len(re.findall(r"db_reconnect_failed", log)), time.time() - t_start))
            self.assertIsNone(sb.ic.poll(), "impactchat exited")
        # Sandbox.__exit__ checked that impactchat then stopped cleanly on SIGTERM.


if __name__ == "__main__":
    unittest.main(verbosity=2)
