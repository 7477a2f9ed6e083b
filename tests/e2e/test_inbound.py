"""End to end: people write in through wa-sim; impactchat stores every
message type once, refuses bad signatures and bad input, fetches media."""
import json
import time
import unittest

from harness import Sandbox, http, post_declared_size, sign, text_webhook, wait_until

PERSON = "27820001111"

# One message of every inbound type wa-sim can play, with what the API must show.
EVERY_TYPE = [
    ({"type": "text", "text": "I need help"}, "text", "I need help"),
    ({"type": "image", "caption": "my clinic card"}, "image", "my clinic card"),
    ({"type": "audio"}, "audio", None),
    ({"type": "voice"}, "audio", None),
    ({"type": "video", "caption": "a video"}, "video", "a video"),
    ({"type": "document", "caption": "results", "filename": "results.pdf"}, "document", "results"),
    ({"type": "sticker"}, "sticker", None),
    ({"type": "location", "latitude": -26.2041, "longitude": 28.0473, "name": "Clinic"}, "location", None),
    ({"type": "contacts"}, "contacts", None),
    ({"type": "button_reply", "reply_id": "yes", "title": "Yes"}, "interactive", "Yes"),
    ({"type": "list_reply", "reply_id": "row2", "title": "Talk to someone"}, "interactive", "Talk to someone"),
    ({"type": "nfm_reply", "response_json": {"flow_token": "t1", "age": "19"}, "body": "Sent"}, "interactive", "Sent"),
    ({"type": "button", "text": "Stop", "payload": "STOP"}, "button", "Stop"),
    ({"type": "order"}, "order", None),
    ({"type": "system", "new_wa_id": "27820009999", "body": "User changed number"}, "system", None),
    ({"type": "unsupported"}, "unsupported", None),
    ({"type": "text", "text": "forwarded tip", "forwarded": True}, "text", "forwarded tip"),
    ({"type": "text", "text": "from an ad", "referral": {"source_type": "ad", "source_id": "123",
                                                         "headline": "Free clinic"}}, "text", "from an ad"),
]


class InboundTest(unittest.TestCase):
    def test_every_type_lands_once_and_media_is_fetched(self):
        with Sandbox() as sb:
            ids = []
            for msg, _, _ in EVERY_TYPE:
                r = sb.person_sends(PERSON, dict(msg, name="Thandi"))
                self.assertEqual(r.get("http_status"), 200, r)
                ids.append(r["id"])
            # A reaction to the first message, and its removal.
            sb.person_sends(PERSON, {"type": "reaction", "message_id": ids[0], "emoji": "\u2764",
                                     "name": "Thandi"})
            sb.person_sends(PERSON, {"type": "reaction", "message_id": ids[0], "name": "Thandi"})

            st, convs, _ = sb.api("GET", "/api/v1/conversations")
            self.assertEqual(st, 200, convs)
            self.assertEqual(len(convs["items"]), 1)
            conv = convs["items"][0]
            self.assertEqual(conv["contact"]["wa_id"], PERSON)
            self.assertEqual(conv["contact"]["name"], "Thandi")
            self.assertIsNotNone(conv["window_expires_at"])

            st, msgs, _ = sb.api("GET", "/api/v1/conversations/%d/messages?limit=100" % conv["id"])
            self.assertEqual(st, 200, msgs)
            got = {m["wa_id"]: m for m in msgs["items"]}
            self.assertEqual(len(got), len(EVERY_TYPE) + 2)
            for wamid, (msg, want_type, want_text) in zip(ids, EVERY_TYPE):
                m = got[wamid]
                self.assertEqual(m["direction"], "in")
                if want_type:
                    self.assertEqual(m["type"], want_type, msg)
                if want_text:
                    self.assertEqual(m["text"], want_text, msg)
            reactions = [m for m in msgs["items"] if m["type"] == "reaction"]
            self.assertEqual(len(reactions), 2)

            # The image is fetched through the Graph media endpoints and served to API callers only.
            self.assertTrue(got[ids[1]]["media_id"])

            def image_media():
                st, m, _ = sb.api("GET", "/api/v1/messages/%d" % got[ids[1]]["id"])
                return m["media"] if m.get("media") and m["media"]["state"] == "stored" else None
            media = wait_until(image_media, what="image fetched into the media store")
            media_id = media["id"]
            st, body, hdrs = http("GET", "%s/api/v1/media/%d" % (sb.url, media_id))
            self.assertEqual(st, 401)
            st, body, hdrs = sb.api("GET", "/api/v1/media/%d" % media_id)
            self.assertEqual(st, 200)

    def test_retried_webhook_makes_no_duplicate(self):
        with Sandbox() as sb:
            for _ in range(3):
                r = sb.person_sends(PERSON, {"type": "text", "text": "again", "id": "wamid.retry-1"})
                self.assertEqual(r["http_status"], 200)
            body = text_webhook("wamid.retry-2")
            for _ in range(2):
                st, js, _ = sb.post_webhook(body)
                self.assertEqual(st, 200, js)
            rows = sb.sql("SELECT wa_id FROM messages WHERE direction = 'in' ORDER BY id")
            self.assertEqual([r[0] for r in rows], ["wamid.retry-1", "wamid.retry-2"])

    def test_bad_signature_and_bad_input_store_nothing(self):
        with Sandbox() as sb:
            body = text_webhook("wamid.bad-1")
            st, js, _ = sb.post_webhook(body, signature=sign(body, "not-the-secret"))
            self.assertEqual(st, 401, js)
            st, js, _ = sb.post_webhook(body, signature="")
            self.assertEqual(st, 401, js)
            st, js, _ = http("POST", sb.webhook_url, body, {"Content-Type": "application/json"})
            self.assertEqual(st, 401, js)
            st, js, _ = http("POST", sb.url + "/webhooks/whatsapp/no-such-channel", body,
                             {"X-Hub-Signature-256": sign(body)})
            self.assertEqual(st, 404, js)
            junk = b"{not json"
            st, js, _ = sb.post_webhook(junk)
            self.assertEqual(st, 400, js)
            self.assertIn("error", js)
            st, js = post_declared_size(sb.webhook_url, 3 * 1024 * 1024 + 1,
                                        {"X-Hub-Signature-256": sign(b"x")})
            self.assertEqual(st, 413, js)
            self.assertEqual(sb.sql("SELECT count(*) FROM messages")[0][0], 0)
            self.assertEqual(sb.sql("SELECT count(*) FROM contacts")[0][0], 0)

    def test_verification_handshake(self):
        with Sandbox() as sb:
            q = "?hub.mode=subscribe&hub.verify_token=e2e-verify&hub.challenge=1158201444"
            st, body, _ = http("GET", sb.webhook_url + q)
            self.assertEqual(st, 200)
            self.assertEqual(str(body), "1158201444")
            st, body, _ = http("GET", sb.webhook_url + q.replace("e2e-verify", "wrong"))
            self.assertEqual(st, 403)

    def test_health(self):
        with Sandbox() as sb:
            self.assertEqual(http("GET", sb.url + "/healthz")[0], 200)
            self.assertEqual(http("GET", sb.url + "/readyz")[0], 200)


if __name__ == "__main__":
    unittest.main(verbosity=2)
