"""End to end: the inbox's actions reach colleagues live. An assignment
publishes conversation.assigned, closing and labelling publish
conversation.updated, each with the conversation's id, on the workspace's
event stream (and only after the change is stored: a refused action
publishes nothing)."""
import unittest

from harness import Sandbox, text_webhook
from test_live import SSE


class LiveInboxTest(unittest.TestCase):
    def test_actions_are_published(self):
        with Sandbox(start_sim=False) as sb:
            st, js, _ = sb.post_webhook(text_webhook("wamid.li-1", wa_id="27825550009"))
            self.assertEqual(st, 200, js)
            conv = sb.sql("SELECT id FROM conversations")[0][0]
            stream = SSE(sb.url, sb.token)
            try:
                self.assertEqual(stream.status, 200)
                st, js, _ = sb.api("POST", "/api/v1/conversations/%d/close" % conv)
                self.assertEqual(st, 200, js)
                ev = stream.next(want="conversation.updated", skip_resync=True)
                self.assertIsNotNone(ev, "no conversation.updated after close")
                self.assertEqual(ev["data"], {"conversation_id": conv})

                st, js, _ = sb.api("POST", "/api/v1/teams", {"name": "Counsellors"})
                self.assertEqual(st, 201, js)
                st, js, _ = sb.api("POST", "/api/v1/conversations/%d/assign" % conv, {"team_id": js["id"]})
                self.assertEqual(st, 200, js)
                ev = stream.next(want="conversation.assigned", skip_resync=True)
                self.assertIsNotNone(ev, "no conversation.assigned")
                self.assertEqual(ev["data"], {"conversation_id": conv})

                # Refused (no such label): nothing is published.
                st, js, _ = sb.api("POST", "/api/v1/conversations/%d/labels" % conv, {"label_id": 999})
                self.assertEqual(st, 404, js)
                self.assertIsNone(stream.next(timeout=1.0, want="conversation.updated", skip_resync=True))
            finally:
                stream.close()


if __name__ == "__main__":
    unittest.main(verbosity=2)
