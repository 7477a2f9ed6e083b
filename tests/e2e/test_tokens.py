"""End to end: API tokens managed through the API (an admin page's
backend). A token created by an admin works at once and is shown once; the
list never shows a token or its hash; a revoked token authenticates
nothing; another workspace's token cannot be seen or revoked."""
import re
import unittest

from harness import Sandbox, http


def with_token(sb, token, method, path, body=None):
    return http(method, sb.url + path, body, {"Authorization": "Bearer " + token,
                                              "Content-Type": "application/json"})


class TokensTest(unittest.TestCase):
    def test_create_list_revoke(self):
        with Sandbox(start_sim=False) as sb:
            st, js, _ = sb.api("POST", "/api/v1/tokens", {"name": "crm sync"})
            self.assertEqual(st, 201, js)
            token, tid = js["token"], js["id"]
            self.assertRegex(token, r"^ic_[0-9a-f]{48}$")
            self.assertEqual(with_token(sb, token, "GET", "/api/v1/conversations")[0], 200)

            st, js, raw = sb.api("GET", "/api/v1/tokens")
            self.assertEqual(st, 200, js)
            self.assertEqual([t["name"] for t in js["items"]], ["crm sync", "e2e"])
            self.assertNotIn(token, raw.decode() if isinstance(raw, bytes) else str(raw))
            self.assertFalse(re.search(r"[0-9a-f]{64}", str(js)), "a hash in the list")
            self.assertIsNone(js["items"][0]["revoked_at"])

            self.assertEqual(sb.api("DELETE", "/api/v1/tokens/%d" % tid)[0], 204)
            st, js, _ = with_token(sb, token, "GET", "/api/v1/conversations")
            self.assertEqual(st, 401, js)
            self.assertEqual(sb.api("DELETE", "/api/v1/tokens/%d" % tid)[0], 404)
            self.assertIsNotNone(sb.api("GET", "/api/v1/tokens")[1]["items"][0]["revoked_at"])

    def test_refusals_and_workspaces(self):
        with Sandbox(start_sim=False) as sb:
            out = sb.cli("workspace", "create", "Other").stdout
            ws2 = int(re.search(r"workspace (\d+) created", out).group(1))
            other = sb.cli("token", "create", "--workspace", str(ws2), "--name", "other").stdout.strip()
            other_id = sb.sql("SELECT id FROM api_tokens WHERE workspace_id = ?", ws2)[0][0]
            self.assertEqual(sb.api("DELETE", "/api/v1/tokens/%d" % other_id)[0], 404)
            self.assertEqual(with_token(sb, other, "GET", "/api/v1/conversations")[0], 200)
            self.assertEqual([t["name"] for t in with_token(sb, other, "GET", "/api/v1/tokens")[1]["items"]],
                             ["other"])
            for body in ({}, {"name": ""}, {"name": "x" * 201}, {"name": "ok", "extra": 1}):
                st, js, _ = sb.api("POST", "/api/v1/tokens", body)
                self.assertEqual(st, 400, (body, js))
            self.assertEqual(sb.api("DELETE", "/api/v1/tokens/abc")[0], 404)
            self.assertEqual(http("GET", sb.url + "/api/v1/tokens")[0], 401)
            self.assertEqual(sb.sql("SELECT count(*) FROM api_tokens"), [(2,)])


if __name__ == "__main__":
    unittest.main(verbosity=2)
