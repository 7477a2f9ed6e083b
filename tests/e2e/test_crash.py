"""End to end: stop impactchat in the middle of a webhook flood, with
kill -9 or with SIGTERM; every message that was answered 200 must be stored
after the restart, and SIGTERM must end the process cleanly. On SQLite that
means the WAL was synced before the answer; on PostgreSQL (IC_TEST_PG_URL)
that the transaction was committed with synchronous_commit on."""
import os
import signal
import threading
import time
import unittest

from harness import BACKEND, Sandbox, http, sign, text_webhook

THREADS = 8
PER_THREAD = 1500


def flood_then(sb, stop_signal, acked_before_stop):
    """Floods sb's webhook from THREADS threads, sends stop_signal to
    impactchat once acked_before_stop webhooks were answered 200, and returns
    the ids answered 200 and the server's exit status."""
    acked, lock = [], threading.Lock()
    stop = threading.Event()

    def flood(t):
        for i in range(PER_THREAD):
            if stop.is_set():
                return
            wamid = "wamid.crash-%d-%d" % (t, i)
            body = text_webhook(wamid, wa_id="2782%07d" % (t * 1000 + i % 50))
            try:
                st, _, _ = http("POST", sb.webhook_url, body,
                                {"X-Hub-Signature-256": sign(body)}, timeout=5)
            except OSError:
                return  # the server died under us
            if st == 200:
                with lock:
                    acked.append(wamid)

    workers = [threading.Thread(target=flood, args=(t,)) for t in range(THREADS)]
    for w in workers:
        w.start()
    # Let the flood run, then stop the server under it.
    deadline = time.time() + 20
    while time.time() < deadline:
        with lock:
            if len(acked) >= acked_before_stop:
                break
        time.sleep(0.01)
    os.kill(sb.ic.pid, stop_signal)
    status = sb.ic.wait()
    stop.set()
    for w in workers:
        w.join()
    return acked, status


class CrashTest(unittest.TestCase):
    def check_all_stored(self, sb, acked):
        self.assertGreater(len(acked), 0)
        if BACKEND == "postgres":
            # Otherwise a 200 could stand for a commit PostgreSQL may still lose.
            self.assertEqual(sb.sql("SELECT current_setting('synchronous_commit'),"
                                    " current_setting('fsync')"), [("on", "on")])

        sb.start_impactchat()  # SQLite recovers from its WAL; PostgreSQL has it all
        stored = [r[0] for r in sb.sql("SELECT wa_id FROM messages")]
        stored_set = set(stored)
        lost = [w for w in acked if w not in stored_set]
        self.assertEqual(lost, [], "%d acknowledged messages lost" % len(lost))
        self.assertEqual(len(stored), len(stored_set))
        print("acknowledged before the stop: %d, stored after restart: %d" % (len(acked), len(stored)))

    def test_kill_9_loses_nothing_acknowledged(self):
        with Sandbox(start_sim=False) as sb:
            acked, _ = flood_then(sb, signal.SIGKILL, 2000)
            self.check_all_stored(sb, acked)

    def test_sigterm_finishes_in_flight_commits_and_exits_cleanly(self):
        with Sandbox(start_sim=False) as sb:
            acked, status = flood_then(sb, signal.SIGTERM, 2000)
            self.assertEqual(status, 0)
            self.check_all_stored(sb, acked)


if __name__ == "__main__":
    unittest.main(verbosity=2)
