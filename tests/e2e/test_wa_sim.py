#!/usr/bin/env python3
"""End-to-end tests of wa-sim, the WhatsApp Cloud API simulator.

Each test starts the real wa-sim binary on a free loopback port with a number
whose webhook points at a small HTTP server in this process, then talks to it
the way impactchat does (Graph API sends with a bearer token) and the way the
tests and the sandbox do (the /sim API). Standard library only.

Environment: IC_BIN_DIR (the build folder holding wa-sim), IC_TEST_TMP (a
scratch folder), IC_SHARED_DIR (shared/ with Meta's example payloads).
"""
import hashlib
import hmac
import http.client
import http.server
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.error
import urllib.request

BIN_DIR = os.environ.get("IC_BIN_DIR", os.path.join(os.path.dirname(__file__), "../../build"))
WA_SIM = os.path.join(BIN_DIR, "wa-sim")
SHARED = os.environ.get("IC_SHARED_DIR", os.path.join(os.path.dirname(__file__), "../../../shared"))
TMP_ROOT = os.environ.get("IC_TEST_TMP", tempfile.gettempdir())

PNID = "106540352242922"
TOKEN = "test-token-abc"
SECRET = "test-app-secret"
WABA = "102290129340398"
PHONE = "27825550123"


class Receiver:
    """A webhook endpoint: records every POST, answers `answer(n)` (default 200)."""

    def __init__(self):
        self.records = []
        self.cond = threading.Condition()
        self.fail_next = 0  # answer 500 to this many requests first
        rec = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                n = int(self.headers.get("Content-Length", "0"))
                raw = self.rfile.read(n)
                with rec.cond:
                    failing = rec.fail_next > 0
                    if failing:
                        rec.fail_next -= 1
                    rec.records.append(
                        {"headers": dict(self.headers), "raw": raw, "failed": failing,
                         "path": self.path})
                    rec.cond.notify_all()
                code = 500 if failing else 200
                body = b"fail" if failing else b"ok"
                self.send_response(code)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.url = "http://127.0.0.1:%d/webhook" % self.port
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()

    def ok_records(self):
        with self.cond:
            return [r for r in self.records if not r["failed"]]

    def statuses(self):
        """Every status item delivered with a 200, in arrival order."""
        out = []
        for r in self.ok_records():
            doc = json.loads(r["raw"])
            for e in doc.get("entry", []):
                for c in e.get("changes", []):
                    out.extend(c["value"].get("statuses", []))
        return out

    def wait(self, pred, timeout=15.0, what="webhooks"):
        deadline = time.monotonic() + timeout
        with self.cond:
            while not pred():
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError("timed out waiting for " + what)
                self.cond.wait(min(left, 0.2))


def signature_ok(record, secret=SECRET):
    sig = record["headers"].get("X-Hub-Signature-256", "")
    want = "sha256=" + hmac.new(secret.encode(), record["raw"], hashlib.sha256).hexdigest()
    return hmac.compare_digest(sig, want)


def skeleton(obj):
    """The shape of a JSON document: keys and types, lists by their first item."""
    if isinstance(obj, dict):
        return {k: skeleton(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [skeleton(obj[0])] if obj else []
    return type(obj).__name__


class Sim:
    def __init__(self, receiver, *flags, number=True):
        args = [WA_SIM, "--port", "0", "--seed", "7"]
        if number:
            args += ["--number", "%s,%s,%s,%s" % (PNID, TOKEN, SECRET, receiver.url)]
        args += list(flags)
        fd, self.log_path = tempfile.mkstemp(prefix="wa-sim-", suffix=".log", dir=TMP_ROOT)
        self.log = os.fdopen(fd, "w")
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=self.log, text=True)
        line = self.proc.stdout.readline().strip()
        prefix = "wa-sim listening on http://127.0.0.1:"
        if not line.startswith(prefix):
            self.proc.kill()
            raise AssertionError("unexpected first line: %r" % line)
        self.port = int(line[len(prefix):])
        self.base = "http://127.0.0.1:%d" % self.port

    def close(self):
        """Stops wa-sim with SIGTERM; it must exit 0 (under ASan: no leak, no
        error report)."""
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc.stdout.close()
        self.log.close()
        with open(self.log_path) as f:
            log = f.read()
        os.unlink(self.log_path)
        if self.proc.returncode != 0 or "runtime error" in log:
            raise AssertionError("wa-sim exited %d:\n%s" % (self.proc.returncode, log[-3000:]))

    def request(self, method, path, body=None, token=None, raw=None, headers=None):
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        req = urllib.request.Request(self.base + path, data=data, method=method)
        if data is not None and raw is None:
            req.add_header("Content-Type", "application/json")
        if token:
            req.add_header("Authorization", "Bearer " + token)
        for k, v in (headers or {}).items():
            req.add_header(k, v)
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                payload = resp.read()
                status = resp.status
        except urllib.error.HTTPError as e:
            payload = e.read()
            status = e.code
        try:
            return status, json.loads(payload)
        except ValueError:
            return status, payload

    def send(self, body, token=TOKEN, version="/v21.0"):
        return self.request("POST", "%s/%s/messages" % (version, PNID), body, token=token)

    def sim(self, method, path, body=None):
        return self.request(method, "/sim/" + path, body)

    def stats(self):
        return self.sim("GET", "stats")[1]

    def wait_stat(self, key, want, timeout=15.0):
        """Waits until stats[key] == want: a webhook's outcome is counted just
        after the receiver has seen it."""
        deadline = time.monotonic() + timeout
        while True:
            got = self.stats()
            if got[key] == want:
                return got
            if time.monotonic() > deadline:
                raise AssertionError("stats[%s] is %r, want %r" % (key, got[key], want))
            time.sleep(0.05)


def text(to=PHONE, body="hello", **extra):
    msg = {"messaging_product": "whatsapp", "recipient_type": "individual", "to": to,
           "type": "text", "text": {"body": body}}
    msg.update(extra)
    return msg


def buttons(titles):
    return {"messaging_product": "whatsapp", "to": PHONE, "type": "interactive",
            "interactive": {"type": "button", "body": {"text": "Choose"},
                            "action": {"buttons": [
                                {"type": "reply", "reply": {"id": "b%d" % i, "title": t}}
                                for i, t in enumerate(titles)]}}}


class WaSimTest(unittest.TestCase):
    flags = ()

    def setUp(self):
        self.rx = Receiver()
        self.sims = []

    def tearDown(self):
        for s in self.sims:
            s.close()
        self.rx.close()

    def start(self, *flags, **kw):
        s = Sim(self.rx, *flags, **kw)
        self.sims.append(s)
        return s

    def assertMetaError(self, status, body, http_status, code):
        self.assertEqual(status, http_status, body)
        err = body["error"]
        self.assertEqual(err["code"], code, body)
        self.assertEqual(err["type"], "OAuthException")
        self.assertTrue(err["fbtrace_id"])
        self.assertIn("message", err)

    # ---- sends -----------------------------------------------------------------

    def test_send_needs_the_right_bearer(self):
        s = self.start("--no-statuses")
        st, body = s.send(text())
        self.assertEqual(st, 200, body)
        self.assertEqual(body["messaging_product"], "whatsapp")
        self.assertEqual(body["contacts"], [{"input": PHONE, "wa_id": PHONE}])
        self.assertTrue(body["messages"][0]["id"].startswith("wamid."))
        st2, body2 = s.send(text(to="+" + PHONE), version="")
        self.assertEqual(st2, 200, body2)
        self.assertEqual(body2["contacts"][0]["input"], "+" + PHONE)
        self.assertNotEqual(body["messages"][0]["id"], body2["messages"][0]["id"])

        st, body = s.send(text(), token=None)
        self.assertMetaError(st, body, 401, 190)
        self.assertEqual(body["error"]["message"], "Invalid OAuth access token.")
        st, body = s.send(text(), token="wrong")
        self.assertMetaError(st, body, 401, 190)
        st, body = s.request("POST", "/v21.0/999/messages", text(), token=TOKEN)
        self.assertMetaError(st, body, 400, 100)
        stats = s.stats()
        self.assertEqual(stats["accepted"], 2)
        self.assertEqual(stats["unauthorized_401"], 2)

    def test_malformed_sends_are_refused_like_meta(self):
        s = self.start("--no-statuses")
        cases = [
            ({"to": PHONE, "type": "text", "text": {"body": "x"}}, 100),
            (dict(text(), type="carrier_pigeon"), 100),
            ({"messaging_product": "whatsapp", "to": PHONE, "type": "text"}, 100),
            ({"messaging_product": "whatsapp", "type": "text", "text": {"body": "x"}}, 100),
            (text(to="not-a-number"), 100),
            (text(body="x" * 4097), 131009),
            (buttons(["This title is 21 char"]), 131009),
            (buttons(["a", "b", "c", "d"]), 131009),
            (buttons(["Same", "same"]), 131009),
            ({"messaging_product": "whatsapp", "to": PHONE, "type": "image",
              "image": {"id": "1", "link": "https://x.example/a.jpg"}}, 100),
        ]
        for body, code in cases:
            st, resp = s.send(body)
            self.assertMetaError(st, resp, 400, code)
            self.assertTrue(resp["error"]["error_data"]["details"])
        st, resp = s.request("POST", "/v21.0/%s/messages" % PNID, raw=b"{not json",
                             token=TOKEN)
        self.assertMetaError(st, resp, 400, 100)
        # Meta's own example of reply buttons is valid.
        with open(os.path.join(SHARED, "whatsapp/examples/send-interactive-buttons.json")) as f:
            st, resp = s.send(json.load(f))
        self.assertEqual(st, 200, resp)
        self.assertEqual(buttons(["A title of 20 chars!"])["interactive"]["action"]["buttons"][0]
                         ["reply"]["title"].__len__(), 20)
        st, resp = s.send(buttons(["A title of 20 chars!"]))
        self.assertEqual(st, 200, resp)
        # Mark as read and the typing indicator.
        st, resp = s.send({"messaging_product": "whatsapp", "status": "read",
                           "message_id": "wamid.in1"})
        self.assertEqual((st, resp), (200, {"success": True}))
        st, resp = s.send({"messaging_product": "whatsapp", "status": "read",
                           "message_id": "wamid.in1", "typing_indicator": {"type": "text"}})
        self.assertEqual((st, resp), (200, {"success": True}))
        stats = s.stats()
        self.assertEqual(stats["accepted"], 2)
        self.assertEqual(stats["marked_read"], 2)
        self.assertEqual(stats["rejected_4xx"], len(cases) + 1)

    def test_templates_list_and_checks(self):
        path = os.path.join(tempfile.mkdtemp(dir=TMP_ROOT), "templates.json")
        with open(path, "w") as f:
            json.dump({"data": [{
                "name": "order_confirmation", "language": "en_US", "category": "UTILITY",
                "status": "APPROVED", "parameter_format": "NAMED",
                "components": [{"type": "BODY",
                                "text": "Hi {{first_name}}, order {{order_number}} is confirmed."}]},
                {"name": "draft_one", "language": "en", "status": "PENDING", "components": []}]}, f)
        s = self.start("--no-statuses", "--templates", path)
        st, body = s.request("GET", "/v21.0/%s/message_templates" % WABA, token=TOKEN)
        self.assertEqual(st, 200, body)
        self.assertEqual([t["name"] for t in body["data"]], ["order_confirmation"])
        self.assertEqual(body["paging"], {})
        with open(os.path.join(SHARED, "whatsapp/examples/send-template-named.json")) as f:
            example = json.load(f)
        st, body = s.send(example)
        self.assertEqual(st, 200, body)
        self.assertEqual(body["messages"][0]["message_status"], "accepted")
        example["template"]["components"][0]["parameters"].pop()
        st, body = s.send(example)
        self.assertMetaError(st, body, 400, 132000)
        example["template"]["name"] = "draft_one"
        st, body = s.send(example)
        self.assertMetaError(st, body, 404, 132001)

        d = self.start("--no-statuses")
        st, body = d.request("GET", "/%s/message_templates" % WABA, token=TOKEN)
        names = sorted(t["name"] for t in body["data"])
        self.assertEqual(names, ["appointment_reminder", "community_update", "hello_world"])
        st, body = d.request("GET", "/%s/message_templates" % WABA, token=None)
        self.assertMetaError(st, body, 401, 190)

    def test_throughput_limit_answers_130429(self):
        s = self.start("--no-statuses", "--mps", "3")
        results = [s.send(text(to="2782555%04d" % i)) for i in range(30)]
        throttled = [b for st, b in results if st != 200]
        self.assertTrue(throttled, "30 quick sends at --mps 3 were all accepted")
        for st, b in results:
            if st != 200:
                self.assertMetaError(st, b, 400, 130429)
                self.assertEqual(b["error"]["message"], "(#130429) Rate limit hit")
                self.assertEqual(b["error"]["error_data"]["messaging_product"], "whatsapp")
        stats = s.stats()
        self.assertLessEqual(stats["max_rate_1s"], 3)
        self.assertGreaterEqual(stats["max_rate_1s"], 1)
        self.assertEqual(stats["throttled_130429"], len(throttled))
        self.assertEqual(stats["accepted"], 30 - len(throttled))
        self.assertEqual(stats["per_number"][PNID]["throttled_130429"], len(throttled))

    def test_pair_limit_answers_131056(self):
        s = self.start("--no-statuses", "--pair-limit")
        results = [s.send(text(body="n%d" % i)) for i in range(50)]
        self.assertTrue(all(st == 200 for st, _ in results[:45]), results[:45])
        limited = [b for st, b in results[45:] if st != 200]
        self.assertTrue(limited)
        for b in limited:
            self.assertEqual(b["error"]["code"], 131056)
        other = s.send(text(to="27825550999"))
        self.assertEqual(other[0], 200, other)
        self.assertEqual(s.stats()["pair_limited_131056"], len(limited))

    # ---- statuses --------------------------------------------------------------

    def test_statuses_are_signed_in_meta_shape_and_order(self):
        s = self.start("--status-delay-ms", "40")
        ids = {}
        for i in range(3):
            st, body = s.send(text(body="m%d" % i, biz_opaque_callback_data="ours-%d" % i))
            self.assertEqual(st, 200, body)
            ids[body["messages"][0]["id"]] = "ours-%d" % i
        self.rx.wait(lambda: len(self.rx.statuses()) >= 9, what="9 statuses")
        for r in self.rx.ok_records():
            self.assertTrue(signature_ok(r), r["headers"])
            self.assertEqual(r["headers"]["Content-Type"], "application/json")
            doc = json.loads(r["raw"])
            self.assertEqual(doc["object"], "whatsapp_business_account")
            self.assertEqual(doc["entry"][0]["id"], WABA)
            change = doc["entry"][0]["changes"][0]
            self.assertEqual(change["field"], "messages")
            self.assertEqual(change["value"]["messaging_product"], "whatsapp")
            self.assertEqual(change["value"]["metadata"]["phone_number_id"], PNID)
            self.assertIn("display_phone_number", change["value"]["metadata"])
        seen = {}
        for st in self.rx.statuses():
            self.assertIn(st["id"], ids)
            self.assertEqual(st["recipient_id"], PHONE)
            self.assertIsInstance(st["timestamp"], str)
            int(st["timestamp"])
            self.assertEqual(st["biz_opaque_callback_data"], ids[st["id"]])
            if st["status"] == "sent":
                self.assertEqual(st["pricing"]["pricing_model"], "PMP")
                self.assertEqual(st["pricing"]["category"], "service")
                self.assertIs(st["pricing"]["billable"], False)
            seen.setdefault(st["id"], []).append(st["status"])
        for wamid, order in seen.items():
            self.assertEqual(order, ["sent", "delivered", "read"], wamid)
        inbox = s.sim("GET", "people/%s/inbox" % PHONE)[1]
        self.assertEqual([m["status"] for m in inbox["messages"]], ["read"] * 3)
        self.assertEqual(inbox["messages"][0]["message"]["text"]["body"], "m0")
        stats = s.wait_stat("statuses_delivered", 9)
        self.assertGreaterEqual(stats["webhooks_delivered"], 1)

    def test_no_read_stops_at_delivered_and_reactions_only_sent(self):
        s = self.start("--status-delay-ms", "10", "--no-read")
        st, body = s.send(text())
        wamid = body["messages"][0]["id"]
        st, body = s.send({"messaging_product": "whatsapp", "to": PHONE, "type": "reaction",
                           "reaction": {"message_id": "wamid.x", "emoji": "\U0001F44D"}})
        self.assertEqual(st, 200, body)
        reaction = body["messages"][0]["id"]
        self.rx.wait(lambda: len(self.rx.statuses()) >= 3, what="3 statuses")
        s.wait_stat("pending_statuses", 0)
        s.wait_stat("pending_webhooks", 0)
        self.assertEqual(s.wait_stat("statuses_delivered", 3)["statuses_dropped"], 0)
        got = [(x["id"], x["status"]) for x in self.rx.statuses()]
        self.assertCountEqual(got, [(wamid, "sent"), (wamid, "delivered"), (reaction, "sent")])

    def test_failed_webhooks_are_retried(self):
        self.rx.fail_next = 1
        s = self.start("--status-delay-ms", "0", "--no-read")
        st, body = s.send(text())
        self.assertEqual(st, 200)
        self.rx.wait(lambda: len(self.rx.statuses()) >= 2, what="statuses after a retry")
        self.assertTrue(self.rx.records[0]["failed"])
        stats = s.wait_stat("statuses_delivered", 2)
        self.assertGreaterEqual(stats["webhooks_failed"], 1)

    # ---- simulated people --------------------------------------------------------

    def test_people_send_builds_signed_meta_payloads(self):
        s = self.start("--no-statuses")
        with open(os.path.join(SHARED, "whatsapp/examples/inbound-text.json")) as f:
            meta_text = json.load(f)
        with open(os.path.join(SHARED, "whatsapp/examples/inbound-button-reply.json")) as f:
            meta_button = json.load(f)
        cases = [
            ({"type": "text", "text": "Does it come in another color?", "name": "Sheena"},
             meta_text),
            ({"type": "button_reply", "title": "Cancel", "reply_id": "cancel-button",
              "context": {"id": "wamid.ours"}}, meta_button),
        ]
        for desc, example in cases:
            n = len(self.rx.records)
            st, resp = s.sim("POST", "people/%s/send" % PHONE, desc)
            self.assertEqual(st, 200, resp)
            self.assertTrue(resp["acknowledged"])
            self.assertEqual(resp["http_status"], 200)
            rec = self.rx.records[n]
            self.assertTrue(signature_ok(rec))
            doc = json.loads(rec["raw"])
            self.assertEqual(skeleton(doc), skeleton(example))
            msg = doc["entry"][0]["changes"][0]["value"]["messages"][0]
            self.assertEqual(msg["id"], resp["id"])
            self.assertEqual(msg["from"], PHONE)
        value = json.loads(self.rx.records[0]["raw"])["entry"][0]["changes"][0]["value"]
        self.assertEqual(value["contacts"][0], {"profile": {"name": "Sheena"}, "wa_id": PHONE})
        self.assertEqual(value["messages"][0]["text"]["body"], "Does it come in another color?")
        msg = json.loads(self.rx.records[1]["raw"])["entry"][0]["changes"][0]["value"]["messages"][0]
        self.assertEqual(msg["interactive"]["button_reply"],
                         {"id": "cancel-button", "title": "Cancel"})
        self.assertEqual(msg["context"]["id"], "wamid.ours")

        def last_message(desc):
            n = len(self.rx.records)
            st, resp = s.sim("POST", "people/%s/send" % PHONE, desc)
            self.assertEqual(st, 200, resp)
            self.assertTrue(resp["acknowledged"], resp)
            value = json.loads(self.rx.records[n]["raw"])["entry"][0]["changes"][0]["value"]
            return value, value["messages"][0], resp

        _, m, resp = last_message({"type": "image", "caption": "my rash"})
        self.assertEqual(m["type"], "image")
        self.assertEqual(m["image"]["caption"], "my rash")
        self.assertEqual(m["image"]["id"], resp["media_id"])
        self.assertEqual(m["image"]["mime_type"], "image/jpeg")
        st, meta = s.request("GET", "/v21.0/" + m["image"]["id"], token=TOKEN)
        self.assertEqual(st, 200, meta)
        st, data = s.request("GET", meta["url"][len(s.base):], token=TOKEN)
        self.assertEqual(st, 200)
        self.assertEqual(hashlib.sha256(data).hexdigest(), m["image"]["sha256"])
        self.assertEqual(len(data), meta["file_size"])

        _, m, _ = last_message({"type": "voice"})
        self.assertEqual((m["type"], m["audio"]["voice"]), ("audio", True))
        _, m, _ = last_message({"type": "document", "filename": "lab.pdf", "size": 200000})
        self.assertEqual(m["document"]["filename"], "lab.pdf")
        st, meta = s.request("GET", "/" + m["document"]["id"], token=TOKEN)
        self.assertEqual(meta["file_size"], 200000)
        _, m, _ = last_message({"type": "location", "latitude": 1.5, "longitude": 2.5,
                                "name": "Clinic"})
        self.assertEqual(m["location"], {"latitude": 1.5, "longitude": 2.5, "name": "Clinic"})
        _, m, _ = last_message({"type": "list_reply", "title": "Tuesday", "reply_id": "tue"})
        self.assertEqual(m["interactive"]["type"], "list_reply")
        _, m, _ = last_message({"type": "nfm_reply", "response_json": {"flow_token": "t1",
                                                                       "age": "32"}})
        self.assertEqual(json.loads(m["interactive"]["nfm_reply"]["response_json"]),
                         {"flow_token": "t1", "age": "32"})
        _, m, _ = last_message({"type": "button", "text": "Stop updates"})
        self.assertEqual(m["button"], {"payload": "Stop updates", "text": "Stop updates"})
        _, m, _ = last_message({"type": "reaction", "message_id": "wamid.x", "emoji": "\u2764"})
        self.assertEqual(m["reaction"], {"message_id": "wamid.x", "emoji": "\u2764"})
        _, m, _ = last_message({"type": "reaction", "message_id": "wamid.x"})
        self.assertEqual(m["reaction"], {"message_id": "wamid.x"})
        _, m, _ = last_message({"type": "contacts"})
        self.assertIn("formatted_name", m["contacts"][0]["name"])
        _, m, _ = last_message({"type": "order"})
        self.assertEqual(m["order"]["product_items"][0]["quantity"], 1)
        value, m, _ = last_message({"type": "system", "new_wa_id": "27825550777"})
        self.assertNotIn("contacts", value)
        self.assertEqual(m["system"]["type"], "user_changed_number")
        _, m, _ = last_message({"type": "unsupported"})
        self.assertEqual(m["errors"][0]["code"], 131051)
        _, m, _ = last_message({"type": "text", "text": "fwd", "forwarded": True,
                                "group_id": "g1", "timestamp": 1750000000})
        self.assertEqual(m["context"], {"forwarded": True})
        self.assertEqual((m["group_id"], m["timestamp"]), ("g1", "1750000000"))
        _, m, _ = last_message({"type": "text", "text": "again", "id": "wamid.forced"})
        self.assertEqual(m["id"], "wamid.forced")

        st, resp = s.sim("POST", "people/%s/send" % PHONE, {"type": "hologram"})
        self.assertEqual(st, 400, resp)
        stats = s.stats()
        self.assertEqual(stats["inbound_acknowledged"], stats["inbound_sent"])

    def test_people_send_reports_an_unacknowledged_webhook(self):
        s = self.start("--no-statuses", "--webhook-retries", "0")
        self.rx.fail_next = 1
        st, resp = s.sim("POST", "people/%s/send" % PHONE, {"type": "text", "text": "hi"})
        self.assertEqual(st, 200, resp)
        self.assertEqual((resp["http_status"], resp["acknowledged"]), (500, False))
        dead = self.start("--no-statuses", number=False)
        st, resp = dead.sim("POST", "numbers", {"phone_number_id": "555", "access_token": "t",
                                                "app_secret": "s",
                                                "webhook_url": "http://127.0.0.1:9/none"})
        self.assertEqual(st, 200, resp)
        st, resp = dead.sim("POST", "people/%s/send" % PHONE, {"type": "text", "text": "hi"})
        self.assertEqual((resp["http_status"], resp["acknowledged"]), (0, False))

    def test_raw_webhook_signatures(self):
        s = self.start("--no-statuses")
        for mode, expect in (("good", True), ("bad", False)):
            n = len(self.rx.records)
            st, resp = s.sim("POST", "raw-webhook", {"body": {"object": "x", "n": 1},
                                                     "signature": mode})
            self.assertEqual(st, 200, resp)
            self.assertEqual(resp["http_status"], 200)
            self.assertEqual(resp["response"], "ok")
            self.assertEqual(signature_ok(self.rx.records[n]), expect)
        st, resp = s.sim("POST", "raw-webhook", {"body_text": "{oops", "signature": "none"})
        self.assertEqual(st, 200, resp)
        self.assertNotIn("X-Hub-Signature-256", self.rx.records[-1]["headers"])
        self.assertEqual(self.rx.records[-1]["raw"], b"{oops")

    # ---- faults and counters -------------------------------------------------------

    def test_fail_first_and_throttle_first(self):
        s = self.start("--no-statuses", "--fail-first", "2", "--throttle-first", "1")
        r = [s.send(text(body=str(i))) for i in range(4)]
        for st, b in r[:2]:
            self.assertEqual(st, 500, b)
            self.assertIn(b["error"]["code"], (1, 2))
        self.assertMetaError(r[2][0], r[2][1], 400, 130429)
        self.assertEqual(r[3][0], 200, r[3])
        st, f = s.sim("POST", "faults", {"fail_first": 1})
        self.assertEqual((st, f["fail_first"]), (200, 1))
        self.assertEqual(s.send(text())[0], 500)
        self.assertEqual(s.send(text())[0], 200)
        stats = s.stats()
        self.assertEqual((stats["failed_5xx"], stats["throttled_130429"], stats["accepted"]),
                         (3, 1, 2))
        st, f = s.sim("POST", "faults", {"fail_rat": 1})
        self.assertEqual(st, 400, f)

    def test_drop_and_slow(self):
        s = self.start("--no-statuses")
        s.sim("POST", "faults", {"drop_rate": 1.0})
        with self.assertRaises((http.client.HTTPException, ConnectionError, urllib.error.URLError)):
            s.send(text())
        self.assertEqual(s.stats()["dropped"], 1)
        s.sim("POST", "faults", {"drop_rate": 0, "slow_ms": 4000})
        done = []
        t = threading.Thread(target=lambda: done.append(s.send(text())))
        t0 = time.monotonic()
        t.start()
        s.wait_stat("accepted", 1)  # other requests are answered while the send waits
        self.assertEqual(done, [])
        t.join()
        self.assertEqual(done[0][0], 200)
        self.assertGreaterEqual(time.monotonic() - t0, 4.0)

    def test_duplicates_stats_and_reset(self):
        s = self.start("--no-statuses")
        for key in ("a", "b", "a", "c", "a"):
            self.assertEqual(s.send(text(biz_opaque_callback_data=key))[0], 200)
        stats = s.stats()
        self.assertEqual(stats["duplicates"], 2)
        self.assertEqual(stats["accepted"], 5)
        self.assertEqual(stats["per_number"][PNID]["accepted"], 5)
        self.assertEqual(stats["per_recipient_max"]["total"], 5)
        self.assertEqual(stats["per_recipient_max"]["total_wa_id"], PHONE)
        self.assertEqual(len(s.sim("GET", "people/%s/inbox" % PHONE)[1]["messages"]), 5)
        st, _ = s.sim("POST", "reset")
        self.assertEqual(st, 200)
        stats = s.stats()
        self.assertEqual((stats["accepted"], stats["duplicates"]), (0, 0))
        self.assertEqual(s.sim("GET", "people/%s/inbox" % PHONE)[1]["messages"], [])
        self.assertEqual(s.send(text(biz_opaque_callback_data="a"))[0], 200)
        self.assertEqual(s.stats()["duplicates"], 0)

    def test_window_closes_after_24_hours(self):
        s = self.start("--window", "--status-delay-ms", "10", "--no-read")
        st, body = s.send(text(to="27825550111"))  # never wrote
        self.assertEqual(st, 200, body)
        never = body["messages"][0]["id"]
        st, resp = s.sim("POST", "people/%s/send" % PHONE, {"type": "text", "text": "hi"})
        self.assertTrue(resp["acknowledged"])
        inside = s.send(text())[1]["messages"][0]["id"]
        self.rx.wait(lambda: len(self.rx.statuses()) >= 3, what="statuses")
        st, clock = s.sim("POST", "clock", {"advance_s": 25 * 3600})
        self.assertEqual(st, 200, clock)
        outside = s.send(text())[1]["messages"][0]["id"]
        st, body = s.send({"messaging_product": "whatsapp", "to": PHONE, "type": "template",
                           "template": {"name": "hello_world", "language": {"code": "en_US"}}})
        self.assertEqual(st, 200, body)
        tpl = body["messages"][0]["id"]
        self.rx.wait(lambda: len(self.rx.statuses()) >= 6, what="statuses after the window")
        by = {}
        for x in self.rx.statuses():
            by.setdefault(x["id"], []).append(x)
        for wamid in (never, outside):
            self.assertEqual([x["status"] for x in by[wamid]], ["failed"])
            self.assertEqual(by[wamid][0]["errors"][0]["code"], 131047)
            self.assertIn("title", by[wamid][0]["errors"][0])
        self.assertEqual([x["status"] for x in by[inside]], ["sent", "delivered"])
        self.assertEqual([x["status"] for x in by[tpl]], ["sent", "delivered"])
        self.assertEqual(by[tpl][0]["pricing"]["category"], "utility")
        self.assertIs(by[tpl][0]["pricing"]["billable"], True)
        self.assertEqual(s.stats()["window_failed_131047"], 2)

    def test_media_upload_metadata_download_delete(self):
        s = self.start("--no-statuses")
        payload = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4
        boundary = "----wasimtest"
        parts = [
            b"--%s\r\nContent-Disposition: form-data; name=\"messaging_product\"\r\n\r\n"
            b"whatsapp\r\n" % boundary.encode(),
            b"--%s\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.png\"\r\n"
            b"Content-Type: image/png\r\n\r\n" % boundary.encode() + payload + b"\r\n",
            b"--%s--\r\n" % boundary.encode(),
        ]
        headers = {"Content-Type": "multipart/form-data; boundary=" + boundary}
        st, up = s.request("POST", "/v21.0/%s/media" % PNID, raw=b"".join(parts), token=TOKEN,
                           headers=headers)
        self.assertEqual(st, 200, up)
        mid = up["id"]
        st, meta = s.request("GET", "/v21.0/" + mid, token=TOKEN)
        self.assertEqual(st, 200, meta)
        self.assertEqual(meta["messaging_product"], "whatsapp")
        self.assertEqual((meta["mime_type"], meta["file_size"], meta["id"]),
                         ("image/png", len(payload), mid))
        self.assertEqual(meta["sha256"], hashlib.sha256(payload).hexdigest())
        path = meta["url"][len(s.base):]
        self.assertTrue(meta["url"].startswith(s.base))
        st, data = s.request("GET", path, token=TOKEN)
        self.assertEqual((st, data), (200, payload))
        st, body = s.request("GET", path)
        self.assertMetaError(st, body, 401, 190)
        st, body = s.request("POST", "/v21.0/%s/media" % PNID, raw=b"".join(parts))
        self.assertMetaError(st, body, 401, 190)
        bad = b"".join(parts).replace(b"image/png", b"application/x-evil")
        st, body = s.request("POST", "/v21.0/%s/media" % PNID, raw=bad, token=TOKEN,
                             headers=headers)
        self.assertMetaError(st, body, 400, 131053)
        s.sim("POST", "clock", {"advance_s": 301})
        st, _ = s.request("GET", path, token=TOKEN)
        self.assertEqual(st, 404)
        st, meta = s.request("GET", "/v21.0/" + mid, token=TOKEN)
        st, data = s.request("GET", meta["url"][len(s.base):], token=TOKEN)
        self.assertEqual((st, data), (200, payload))
        st, body = s.request("DELETE", "/v21.0/" + mid, token=TOKEN)
        self.assertEqual((st, body), (200, {"success": True}))
        st, body = s.request("GET", "/v21.0/" + mid, token=TOKEN)
        self.assertMetaError(st, body, 400, 100)
        self.assertEqual(s.stats()["media_uploaded"], 1)

    def test_numbers_registered_at_run_time(self):
        s = self.start("--no-statuses", number=False)
        st, body = s.send(text())
        self.assertMetaError(st, body, 400, 100)
        st, body = s.sim("POST", "numbers", {"phone_number_id": PNID, "access_token": TOKEN,
                                             "app_secret": SECRET, "webhook_url": self.rx.url,
                                             "mps": 2, "display_phone": "15550783881"})
        self.assertEqual(st, 200, body)
        self.assertEqual(body["mps"], 2)
        self.assertNotIn("access_token", json.dumps(s.sim("GET", "numbers")[1]))
        codes = [s.send(text(to="2782555000%d" % i))[0] for i in range(4)]
        self.assertIn(400, codes)
        self.assertEqual(codes[:2], [200, 200])
        st, resp = s.sim("POST", "people/%s/send" % PHONE, {"type": "text", "text": "x"})
        self.assertTrue(resp["acknowledged"], resp)
        doc = json.loads(self.rx.records[-1]["raw"])
        self.assertEqual(doc["entry"][0]["changes"][0]["value"]["metadata"],
                         {"display_phone_number": "15550783881", "phone_number_id": PNID})
        st, body = s.sim("POST", "numbers", {"phone_number_id": "x/y"})
        self.assertEqual(st, 400, body)

    def test_help_lists_every_flag(self):
        out = subprocess.run([WA_SIM, "--help"], capture_output=True, text=True, timeout=10)
        self.assertEqual(out.returncode, 0)
        for flag in ("--port", "--listen", "--number", "--mps", "--pair-limit", "--window",
                     "--clock-offset", "--fail-rate", "--slow-ms", "--drop-rate", "--fail-first",
                     "--throttle-first", "--status-delay-ms", "--no-statuses", "--no-read",
                     "--templates"):
            self.assertIn(flag, out.stdout)
        bad = subprocess.run([WA_SIM, "--mps", "zero"], capture_output=True, text=True,
                             timeout=10)
        self.assertEqual(bad.returncode, 2)
        self.assertIn("--mps", bad.stderr)


if __name__ == "__main__":
    if not os.path.exists(WA_SIM):
        sys.exit("wa-sim is not built at %s (set IC_BIN_DIR)" % WA_SIM)
    os.makedirs(TMP_ROOT, exist_ok=True)
    unittest.main(verbosity=2)
