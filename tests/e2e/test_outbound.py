"""End to end: the service answers people through the REST API; wa-sim plays
Meta. Statuses flow back; throttling and server errors are retried until
delivered; the 24-hour window and Meta's limits are enforced before sending."""
import base64
import unittest
import urllib.request

from harness import ACCESS_TOKEN, Sandbox, http, wait_until

PERSON = "27820002222"
# A 1x1 PNG.
PNG = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwAD"
                       "hgGAWjR9awAAAABJRU5ErkJggg==")


def reply(sb, conv_id, text):
    return sb.api("POST", "/api/v1/conversations/%d/messages" % conv_id,
                  {"message": {"type": "text", "text": {"body": text}}})


def first_conversation(sb):
    st, convs, _ = sb.api("GET", "/api/v1/conversations")
    assert st == 200, convs
    return convs["items"][0]["id"]


def message_status(sb, msg_id):
    st, m, _ = sb.api("GET", "/api/v1/messages/%d" % msg_id)
    return m.get("status") if st == 200 else None


class OutboundTest(unittest.TestCase):
    def test_reply_reaches_the_person_and_statuses_flow_back(self):
        with Sandbox() as sb:
            sb.person_sends(PERSON, {"type": "text", "text": "hello?"})
            conv = first_conversation(sb)
            st, m, _ = reply(sb, conv, "Hello, a counsellor is here.")
            self.assertEqual(st, 202, m)
            self.assertEqual(m["status"], "queued")
            wait_until(lambda: message_status(sb, m["id"]) == "read", what="read status")
            st, full, _ = sb.api("GET", "/api/v1/messages/%d" % m["id"])
            self.assertEqual([s["status"] for s in full["statuses"]], ["sent", "delivered", "read"])
            self.assertTrue(full["wa_id"].startswith("wamid."))
            st, inbox, _ = http("GET", "%s/sim/people/%s/inbox" % (sb.sim_url, PERSON))
            bodies = [x["message"] for x in inbox["messages"]]
            texts = [b.get("text", {}).get("body") for b in bodies if b.get("type") == "text"]
            self.assertIn("Hello, a counsellor is here.", texts)

    def test_throttling_and_server_errors_are_retried_until_delivered(self):
        with Sandbox(sim_args=["--throttle-first", "2", "--fail-first", "2"]) as sb:
            sb.person_sends(PERSON, {"type": "text", "text": "hi"})
            conv = first_conversation(sb)
            ids = [reply(sb, conv, "message %d" % i)[1]["id"] for i in range(3)]
            for i in ids:
                wait_until(lambda: message_status(sb, i) in ("delivered", "read"), timeout=60,
                           what="delivered after retries")
            stats = sb.sim_stats()
            self.assertGreaterEqual(stats["throttled_130429"], 2)
            self.assertGreaterEqual(stats["failed_5xx"], 2)
            self.assertEqual(stats["duplicates"], 0)
            st, inbox, _ = http("GET", "%s/sim/people/%s/inbox" % (sb.sim_url, PERSON))
            texts = [x["message"].get("text", {}).get("body") for x in inbox["messages"]]
            self.assertEqual([t for t in texts if t], ["message 0", "message 1", "message 2"])

    def test_closed_window_refuses_free_form_but_allows_templates(self):
        with Sandbox() as sb:
            st, js, _ = sb.api("POST", "/api/v1/messages", {
                "channel_id": 1, "to": "27820003333",
                "message": {"type": "text", "text": {"body": "Are you well?"}}})
            self.assertEqual(st, 422, js)
            self.assertEqual(js["error"]["code"], "window_closed")
            self.assertEqual(sb.sql("SELECT count(*) FROM messages")[0][0], 0)
            st, js, _ = sb.api("POST", "/api/v1/messages", {
                "channel_id": 1, "to": "27820003333",
                "message": {"type": "template", "template": {"name": "hello_world",
                                                              "language": {"code": "en_US"}}}})
            self.assertEqual(st, 202, js)
            wait_until(lambda: message_status(sb, js["id"]) in ("delivered", "read"),
                       what="template delivered")

    def test_meta_limits_are_checked_before_sending(self):
        with Sandbox() as sb:
            sb.person_sends(PERSON, {"type": "text", "text": "hi"})
            conv = first_conversation(sb)
            st, js, _ = sb.api("POST", "/api/v1/conversations/%d/messages" % conv, {"message": {
                "type": "interactive", "interactive": {
                    "type": "button", "body": {"text": "Choose"},
                    "action": {"buttons": [{"type": "reply", "reply": {
                        "id": "a", "title": "Twenty-one characters"}}]}}}})
            self.assertEqual(st, 422, js)
            self.assertEqual(js["error"]["code"], "limit")
            self.assertIn("20", js["error"]["message"])
            self.assertEqual(sb.sim_stats()["accepted"], 0)

    def test_uploaded_file_is_sent_by_its_whatsapp_id(self):
        with Sandbox() as sb:
            sb.person_sends(PERSON, {"type": "text", "text": "can you send my clinic card?"})
            conv = first_conversation(sb)
            st, up, _ = http("POST", sb.url + "/api/v1/media?channel_id=1", PNG,
                             {"Authorization": "Bearer " + sb.token, "Content-Type": "image/png"})
            self.assertEqual(st, 201, up)
            self.assertEqual((up["channel_id"], up["mime_type"], up["size"]), (1, "image/png", len(PNG)))
            wa_media_id = up["wa_media_id"]
            self.assertTrue(wa_media_id)
            self.assertEqual(sb.sim_stats()["media_uploaded"], 1)
            # Meta (wa-sim) holds the very bytes under that id.
            auth = {"Authorization": "Bearer " + ACCESS_TOKEN}
            st, meta, _ = http("GET", "%s/v21.0/%s" % (sb.sim_url, wa_media_id), headers=auth)
            self.assertEqual(st, 200, meta)
            self.assertEqual(meta["mime_type"], "image/png")
            with urllib.request.urlopen(urllib.request.Request(meta["url"], headers=auth)) as r:
                self.assertEqual(r.read(), PNG)
            # Our copy names Meta's id too.
            st, _, hdrs = http("GET", sb.url + "/api/v1/media/%d" % up["id"],
                               headers={"Authorization": "Bearer " + sb.token})
            self.assertEqual(st, 200)
            self.assertEqual(hdrs["X-WhatsApp-Media-Id"], wa_media_id)

            st, m, _ = sb.api("POST", "/api/v1/conversations/%d/messages" % conv, {"message": {
                "type": "image", "image": {"id": wa_media_id, "caption": "Your clinic card"}}})
            self.assertEqual(st, 202, m)
            wait_until(lambda: message_status(sb, m["id"]) in ("delivered", "read"),
                       what="image delivered")
            st, inbox, _ = http("GET", "%s/sim/people/%s/inbox" % (sb.sim_url, PERSON))
            images = [x["message"]["image"] for x in inbox["messages"]
                      if x["message"].get("type") == "image"]
            self.assertEqual(images, [{"id": wa_media_id, "caption": "Your clinic card"}])


if __name__ == "__main__":
    unittest.main(verbosity=2)
