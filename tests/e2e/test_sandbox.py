"""End to end: the sandbox phone (/api/v1/sandbox). A staff member plays a
person writing in through impactchat's API: the message reaches wa-sim,
which delivers it to impactchat's webhook like Meta, and the reply sent
from the inbox shows in the person's sandbox inbox. A channel that talks to
Meta has no sandbox; bad numbers, unknown kinds and a missing token are
refused without anything sent."""
import unittest

import harness
from harness import Sandbox, http

PERSON = "27825550001"


class SandboxPhoneTest(unittest.TestCase):
    def test_person_writes_and_reads_the_reply(self):
        with Sandbox() as sb:
            st, js, _ = sb.api("GET", "/api/v1/sandbox")
            self.assertEqual((st, js.get("available")), (200, True), js)
            self.assertEqual(js["phone_number_id"], harness.PHONE_ID)

            st, js, _ = sb.api("POST", "/api/v1/sandbox/people/%s/send" % PERSON,
                               {"type": "text", "text": "Hello, is the clinic open?", "name": "Lerato"})
            self.assertEqual(st, 200, js)
            self.assertEqual((js.get("http_status"), js.get("acknowledged")), (200, True), js)
            rows = sb.sql("SELECT m.text, k.name FROM messages m JOIN contacts k ON k.id = m.contact_id"
                          " WHERE m.direction = 'in' AND k.wa_id = ?", PERSON)
            self.assertEqual(rows, [("Hello, is the clinic open?", "Lerato")])

            conv = sb.sql("SELECT id FROM conversations")[0][0]
            st, js, _ = sb.api("POST", "/api/v1/conversations/%d/messages" % conv,
                               {"message": {"type": "text", "text": {"body": "Yes, until 17:00."}}})
            self.assertEqual(st, 202, js)

            def replied():
                st, js, _ = sb.api("GET", "/api/v1/sandbox/people/%s/inbox" % PERSON)
                self.assertEqual(st, 200, js)
                return [m for m in js.get("messages", []) if "17:00" in str(m)]
            harness.wait_until(replied, what="the reply in the sandbox inbox")

    def test_refusals(self):
        with Sandbox() as sb:
            before = sb.sim_stats()
            for path, body, status in [
                ("/api/v1/sandbox/people/12/send", {"type": "text", "text": "x"}, 400),
                ("/api/v1/sandbox/people/%s/send" % PERSON, {"type": "template", "text": "x"}, 400),
                ("/api/v1/sandbox/people/%s/send" % PERSON, {"text": "no type"}, 400),
                ("/api/v1/sandbox/people/%s/send?channel_id=999" % PERSON, {"type": "text", "text": "x"}, 404),
            ]:
                st, js, _ = sb.api("POST", path, body)
                self.assertEqual(st, status, (path, js))
                self.assertIn("error", js)
            st, js, _ = http("POST", sb.url + "/api/v1/sandbox/people/%s/send" % PERSON,
                             {"type": "text", "text": "x"})
            self.assertEqual(st, 401, js)
            self.assertEqual(sb.sql("SELECT count(*) FROM messages"), [(0,)])
            self.assertEqual(sb.sim_stats().get("inbound_sent"), before.get("inbound_sent"))

    def test_a_channel_on_meta_has_no_sandbox(self):
        with Sandbox(start_sim=False) as sb:
            sb.cli("channel", "add", "--workspace", str(sb.ws), "--phone-number-id", "9990001",
                   env={"IC_ACCESS_TOKEN": "t", "IC_APP_SECRET": "s"})
            meta = max(r[0] for r in sb.sql("SELECT id FROM channels"))
            st, js, _ = sb.api("GET", "/api/v1/sandbox?channel_id=%d" % meta)
            self.assertEqual(st, 400, js)
            self.assertIn("Meta", js["error"]["message"])


if __name__ == "__main__":
    unittest.main(verbosity=2)
