"""End to end: kill -9 impactchat in the middle of a webhook flood; every
message that was answered 200 must be stored after the restart."""
import os
import signal
import threading
import time
import unittest

from harness import Sandbox, http, sign, text_webhook

THREADS = 8
PER_THREAD = 1500


class CrashTest(unittest.TestCase):
    def test_kill_9_loses_nothing_acknowledged(self):
        with Sandbox(start_sim=False) as sb:
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
            # Let the flood run, then kill the server without warning.
            deadline = time.time() + 20
            while time.time() < deadline:
                with lock:
                    if len(acked) >= 2000:
                        break
                time.sleep(0.01)
            os.kill(sb.ic.pid, signal.SIGKILL)
            sb.ic.wait()
            stop.set()
            for w in workers:
                w.join()
            self.assertGreater(len(acked), 0)

            sb.start_impactchat()  # recovers from the WAL
            stored = {r[0] for r in sb.sql("SELECT wa_id FROM messages")}
            lost = [w for w in acked if w not in stored]
            self.assertEqual(lost, [], "%d acknowledged messages lost" % len(lost))
            self.assertEqual(len(stored), len(set(stored)))
            print("acknowledged before kill -9: %d, stored after restart: %d" % (len(acked), len(stored)))


if __name__ == "__main__":
    unittest.main(verbosity=2)
