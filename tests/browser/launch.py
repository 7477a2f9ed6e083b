"""Starts a sandbox for the browser tests and keeps it until standard input
closes: impactchat serve on a fresh SQLite file (or PostgreSQL database, with
IC_TEST_PG_URL) with wa-sim standing in for Meta, exactly as the end-to-end
tests do (tests/e2e/harness.py), plus an admin user who can sign in.

Prints one JSON line on standard output once everything answers:
  {"url", "sim_url", "webhook_url", "email", "password", "token", "dir"}
plus "users": the other people who sign in with the same password (two
operators, a supervisor and a viewer: {"email", "name", "role"} each),
then waits; closing standard input (or SIGTERM) stops both servers.
Environment: IC_BIN_DIR (the build folder), IC_TEST_TMP (scratch).
"""
import json
import os
import signal
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "e2e"))
import harness  # noqa: E402

EMAIL = "admin@example.org"
PASSWORD = "browser-test-password"
# Who else works in the workspace (tests/browser/actions.test.mjs).
USERS = [
    {"email": "thandi@example.org", "name": "Thandi", "role": "operator"},
    {"email": "sipho@example.org", "name": "Sipho", "role": "operator"},
    {"email": "sam@example.org", "name": "Sam Super", "role": "supervisor"},
    {"email": "vusi@example.org", "name": "Vusi", "role": "viewer"},
]


def main():
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    with harness.Sandbox() as sb:
        sb.cli("user", "add", "--workspace", str(sb.ws), "--email", EMAIL, "--name", "Lerato",
               "--role", "admin", "--password-stdin", stdin=PASSWORD + "\n")
        for u in USERS:
            sb.cli("user", "add", "--workspace", str(sb.ws), "--email", u["email"], "--name", u["name"],
                   "--role", u["role"], "--password-stdin", stdin=PASSWORD + "\n")
        print(json.dumps({"url": sb.url, "sim_url": sb.sim_url, "webhook_url": sb.webhook_url,
                          "email": EMAIL, "password": PASSWORD, "token": sb.token,
                          "dir": sb.dir, "users": USERS}), flush=True)
        sys.stdin.read()


if __name__ == "__main__":
    main()
