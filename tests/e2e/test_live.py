"""End to end: live updates over Server-Sent Events (GET /api/v1/events).

1. One node (SQLite, or PostgreSQL with IC_TEST_PG_URL): an operator's
   stream sees message.created for an inbound webhook (published after the
   commit by the live worker) and typing for
   POST /api/v1/conversations/{id}/typing (rate-limited to one a second);
   a status webhook gives message.status with the stored row's status; a
   webhook that fails to store (a test trigger rolls it back) publishes
   nothing; another workspace's stream sees none of it; Last-Event-ID
   replays nothing when nothing was missed and gets "resync" for an unknown
   id; the server stops cleanly with streams open.
2. Two nodes on a private PostgreSQL (tests/e2e/pg_server.py): an event
   published on node A (message.created, message.status, typing) reaches a
   stream on node B within a second, and a stream of another workspace on
   node B sees nothing.
"""
import http.client as httpclient
import json
import queue
import re
import sqlite3
import threading
import time
import unittest

import harness
import pg_server
from harness import PHONE_ID, TMP, http, text_webhook

DELIVERY_S = 1.0  # the acceptance bound, node to node


class SSE:
    """A stream of GET /api/v1/events read on its own thread; events land
    in self.events (a queue of dicts: event, id, data, at)."""

    def __init__(self, base_url, token, last_event_id=None):
        host, port = re.match(r"http://([^:]+):(\d+)", base_url).groups()
        self.conn = httpclient.HTTPConnection(host, int(port), timeout=30)
        headers = {"Authorization": "Bearer " + token, "Accept": "text/event-stream"}
        if last_event_id:
            headers["Last-Event-ID"] = last_event_id
        self.conn.request("GET", "/api/v1/events", headers=headers)
        self.resp = self.conn.getresponse()
        self.status = self.resp.status
        self.ctype = self.resp.getheader("Content-Type", "")
        self.events = queue.Queue()
        self.retry = None
        self.heartbeats = 0
        self.closed = threading.Event()
        if self.status == 200:
            threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        ev = {}
        try:
            while True:
                line = self.resp.readline()
                if not line:
                    break
                line = line.decode().rstrip("\n")
                if line == "":
                    if "event" in ev or "data" in ev:
                        ev["at"] = time.monotonic()
                        ev["data"] = json.loads(ev.get("data", "{}"))
                        self.events.put(ev)
                    ev = {}
                elif line.startswith(":"):
                    self.heartbeats += 1
                else:
                    k, _, v = line.partition(":")
                    v = v[1:] if v.startswith(" ") else v
                    if k == "retry":
                        self.retry = int(v)
                    else:
                        ev[k] = v
        except (OSError, ValueError, httpclient.HTTPException):
            pass
        self.closed.set()

    def next(self, timeout=5.0, want=None, skip_resync=False):
        """The next event (of type want, skipping others; skipping resync
        when asked), or None."""
        end = time.monotonic() + timeout
        while True:
            left = end - time.monotonic()
            if left <= 0:
                return None
            try:
                ev = self.events.get(timeout=left)
            except queue.Empty:
                return None
            if skip_resync and ev.get("event") == "resync":
                continue
            if want is None or ev.get("event") == want:
                return ev

    def close(self):
        self.conn.close()


def second_workspace(sb):
    out = sb.cli("workspace", "create", "Other").stdout
    ws = int(re.search(r"workspace (\d+) created", out).group(1))
    token = sb.cli("token", "create", "--workspace", str(ws), "--name", "other").stdout.strip()
    return ws, token


def status_webhook(wamid, status="delivered", recipient="27820001111"):
    """A Meta-shaped status webhook body (bytes) for our message wamid."""
    return json.dumps({"object": "whatsapp_business_account", "entry": [{"id": "102290129340398", "changes": [{
        "field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "15550001", "phone_number_id": PHONE_ID},
            "statuses": [{"id": wamid, "status": status, "timestamp": str(int(time.time())),
                          "recipient_id": recipient}]}}]}]}).encode()


def write_sql(backend_db, is_pg, sql):
    """Runs a writing statement on the sandbox's database (committed)."""
    if is_pg:
        harness._psql(backend_db, sql)
        return
    con = sqlite3.connect(backend_db, timeout=10)
    try:
        con.executescript(sql)
        con.commit()
    finally:
        con.close()


# An outbound message in the conversation of the inbound message wa_id, as
# if we had sent it and Meta had answered with wamid out_id.
SQL_OUTBOUND = ("INSERT INTO messages (workspace_id, channel_id, contact_id, conversation_id, "
                "direction, wa_id, type, text, status, created_us, updated_us) "
                "SELECT workspace_id, channel_id, contact_id, conversation_id, 'out', '%s', "
                "'text', 'hi', 'sent', 1, 1 FROM messages WHERE wa_id = '%s';")

# Makes storing the inbound message wamid.live-fail fail (the batch rolls back).
SQL_FAIL_TRIGGER_PG = """
CREATE FUNCTION live_fail() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.wa_id = 'wamid.live-fail' THEN RAISE EXCEPTION 'live test failure'; END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER live_fail BEFORE INSERT ON messages FOR EACH ROW EXECUTE FUNCTION live_fail();
"""
SQL_FAIL_TRIGGER_SQLITE = """
CREATE TRIGGER live_fail BEFORE INSERT ON messages WHEN NEW.wa_id = 'wamid.live-fail'
BEGIN SELECT RAISE(ABORT, 'live test failure'); END;
"""


def check_status_event(test, post_webhook, stream, db, is_pg, inbound, out_id):
    """A status webhook for an outbound message of inbound's conversation:
    message.status with the stored row, on stream within DELIVERY_S."""
    write_sql(db, is_pg, SQL_OUTBOUND % (out_id, inbound))
    t0 = time.monotonic()
    st, js, _ = post_webhook(status_webhook(out_id))
    test.assertEqual(st, 200, js)
    test.assertEqual(js["statuses"], 1, js)
    ev = stream.next(want="message.status")
    test.assertIsNotNone(ev, "no message.status")
    test.assertLess(ev["at"] - t0, DELIVERY_S)
    mid = (harness.pg_select(db, "SELECT id FROM messages WHERE wa_id = ?", (out_id,)) if is_pg
           else sqlite3.connect(db).execute("SELECT id FROM messages WHERE wa_id = ?",
                                            (out_id,)).fetchall())[0][0]
    test.assertEqual(ev["data"]["message_id"], mid)
    test.assertEqual(ev["data"]["status"], "delivered")
    test.assertEqual(ev["data"]["direction"], "out")
    return ev["at"] - t0


def typing(url, token, conv):
    return http("POST", "%s/api/v1/conversations/%d/typing" % (url, conv), b"",
                {"Authorization": "Bearer " + token})


class LiveOneNodeTest(unittest.TestCase):
    def test_stream_sees_its_workspace_only(self):
        with harness.Sandbox(start_sim=False) as sb:
            _, token2 = second_workspace(sb)
            st, _, _ = http("GET", sb.url + "/api/v1/events")
            self.assertEqual(st, 401)
            a, b = SSE(sb.url, sb.token), SSE(sb.url, token2)
            self.addCleanup(a.close)
            self.addCleanup(b.close)
            self.assertEqual((a.status, b.status), (200, 200))
            self.assertTrue(a.ctype.startswith("text/event-stream"), a.ctype)

            # An inbound webhook: message.created with the stored ids.
            t0 = time.monotonic()
            st, js, _ = sb.post_webhook(text_webhook("wamid.live-1"))
            self.assertEqual(st, 200, js)
            ev = a.next(want="message.created")
            self.assertIsNotNone(ev, "no message.created")
            self.assertEqual(a.retry, 3000)
            mid, conv = sb.sql("SELECT id, conversation_id FROM messages WHERE wa_id = ?",
                               "wamid.live-1")[0]
            self.assertEqual(ev["data"]["message_id"], mid)
            self.assertEqual(ev["data"]["conversation_id"], conv)
            self.assertEqual(ev["data"]["direction"], "in")
            self.assertTrue(ev["id"])
            print("live: webhook to event %.0f ms (%s)" % ((ev["at"] - t0) * 1000, harness.BACKEND))

            # Typing: delivered at once, at most once a second per caller.
            t0 = time.monotonic()
            st, js, _ = typing(sb.url, sb.token, conv)
            self.assertEqual(st, 204, js)
            ev = a.next(want="typing")
            self.assertIsNotNone(ev, "no typing event")
            self.assertEqual(ev["data"]["conversation_id"], conv)
            self.assertLess(ev["at"] - t0, DELIVERY_S)
            st, js, hdrs = typing(sb.url, sb.token, conv)
            self.assertEqual(st, 429, js)
            self.assertEqual(hdrs.get("Retry-After"), "1")
            # Another workspace cannot type into this conversation.
            st, _, _ = typing(sb.url, token2, conv)
            self.assertEqual(st, 404)
            time.sleep(1.05)
            self.assertEqual(typing(sb.url, sb.token, conv)[0], 204)
            last = a.next(want="typing")
            self.assertIsNotNone(last)

            # A status: message.status from the stored row.
            is_pg = bool(sb.pg_name)
            check_status_event(self, sb.post_webhook, a, sb.db, is_pg, "wamid.live-1",
                               "wamid.live-out")

            # A webhook that cannot be stored publishes nothing: the next
            # message.created is the following webhook's.
            write_sql(sb.db, is_pg, SQL_FAIL_TRIGGER_PG if is_pg else SQL_FAIL_TRIGGER_SQLITE)
            st, js, _ = sb.post_webhook(text_webhook("wamid.live-fail"))
            self.assertEqual(st, 503, js)
            st, js, _ = sb.post_webhook(text_webhook("wamid.live-2"))
            self.assertEqual(st, 200, js)
            ev = a.next(want="message.created")
            self.assertIsNotNone(ev, "no message.created after a failed webhook")
            mid2 = sb.sql("SELECT id FROM messages WHERE wa_id = ?", "wamid.live-2")[0][0]
            self.assertEqual(ev["data"]["message_id"], mid2)
            self.assertEqual(sb.sql("SELECT count(*) FROM messages WHERE wa_id = ?",
                                    "wamid.live-fail")[0][0], 0)
            last = ev

            # The other workspace's stream saw nothing.
            self.assertIsNone(b.next(timeout=0.5, skip_resync=True))

            # Reconnecting: nothing missed after the newest id; an unknown id
            # (or none remembered) gets resync.
            c = SSE(sb.url, sb.token, last_event_id=last["id"])
            self.addCleanup(c.close)
            self.assertIsNone(c.next(timeout=0.5))
            d = SSE(sb.url, sb.token, last_event_id="0-unknown")
            self.addCleanup(d.close)
            ev = d.next(timeout=2)
            self.assertIsNotNone(ev)
            self.assertEqual(ev["event"], "resync")
            # The Sandbox stops impactchat with these streams open: it must
            # exit 0 within 20 s (checked on exit), ending every stream.
            sb.ic.send_signal(15)
            self.assertEqual(sb.ic.wait(timeout=20), 0)
            self.assertTrue(a.closed.wait(5), "the stream did not end at shutdown")


class LiveTwoNodesTest(unittest.TestCase):
    def setUp(self):
        self.pg = pg_server.start_for(self, TMP)

    def test_event_crosses_nodes(self):
        from test_multinode import MultiSandbox
        self.pg.psql("CREATE DATABASE live;")
        url = self.pg.url.rsplit("/", 1)[0] + "/live"
        with MultiSandbox(url) as sb:
            _, url_b = sb.start_node()
            _, token2 = second_workspace(sb)
            on_b = SSE(url_b, sb.token)
            other_b = SSE(url_b, token2)
            self.addCleanup(on_b.close)
            self.addCleanup(other_b.close)
            self.assertEqual((on_b.status, other_b.status), (200, 200))

            # A webhook on node A: message.created on node B.
            t0 = time.monotonic()
            st, js, _ = sb.post_webhook(text_webhook("wamid.live-n1"))
            self.assertEqual(st, 200, js)
            ev = on_b.next(want="message.created")
            self.assertIsNotNone(ev, "node B's stream got no message.created")
            webhook_ms = (ev["at"] - t0) * 1000
            conv = ev["data"]["conversation_id"]
            self.assertEqual(conv, harness.pg_select(
                url, "SELECT conversation_id FROM messages WHERE wa_id = ?", ("wamid.live-n1",))[0][0])

            self.assertLess(webhook_ms, DELIVERY_S * 1000)

            # A status on node A: message.status on node B.
            status_s = check_status_event(self, sb.post_webhook, on_b, url, True, "wamid.live-n1",
                                          "wamid.live-n1-out")

            # Typing on node A: on node B within a second, five times.
            worst = 0.0
            for i in range(5):
                if i:
                    time.sleep(1.05)  # the rate limit
                t0 = time.monotonic()
                st, js, _ = typing(sb.url, sb.token, conv)
                self.assertEqual(st, 204, js)
                ev = on_b.next(timeout=3, want="typing")
                self.assertIsNotNone(ev, "node B's stream got no typing event")
                worst = max(worst, ev["at"] - t0)
            self.assertLess(worst, DELIVERY_S)
            self.assertIsNone(other_b.next(timeout=0.5, skip_resync=True))
            print("live: node A to node B: webhook %.0f ms, status %.0f ms, typing worst %.0f ms"
                  % (webhook_ms, status_s * 1000, worst * 1000))


if __name__ == "__main__":
    unittest.main()
