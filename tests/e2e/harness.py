"""Shared set-up for the end-to-end tests: real impactchat and wa-sim
binaries on loopback, a real database (a SQLite file, or a fresh PostgreSQL
database), driven over HTTP.

Environment (set by ctest): IC_BIN_DIR (the build folder with impactchat and
wa-sim), IC_TEST_TMP (scratch space). With IC_TEST_PG_URL (the maintenance
URL of a throwaway server, as printed by scripts/pg-test-server.sh; `make
test-pg` sets it) every Sandbox creates its own PostgreSQL database through
psql, runs impactchat on it, and drops it at exit. Only the Python standard
library (and the psql client).
"""
import atexit
import hashlib
import hmac
import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

BIN = os.environ.get("IC_BIN_DIR", os.path.join(os.path.dirname(__file__), "../../build"))
TMP = os.environ.get("IC_TEST_TMP", "/tmp")
PHONE_ID = "100000000000001"
ACCESS_TOKEN = "e2e-access-token"
APP_SECRET = "e2e-app-secret"
# The maintenance URL of a throwaway PostgreSQL server, or None for SQLite.
PG_URL = os.environ.get("IC_TEST_PG_URL") or None
BACKEND = "postgres" if PG_URL else "sqlite"


def http(method, url, body=None, headers=None, timeout=30):
    """Returns (status, parsed JSON or raw text, headers). Never raises for HTTP errors."""
    data = body
    if isinstance(body, (dict, list)):
        data = json.dumps(body).encode()
    elif isinstance(body, str):
        data = body.encode()
    req = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            raw, status, hdrs = r.read(), r.status, r.headers
    except urllib.error.HTTPError as e:
        raw, status, hdrs = e.read(), e.code, e.headers
    try:
        return status, json.loads(raw), hdrs
    except ValueError:
        return status, raw.decode(errors="replace"), hdrs


def post_declared_size(url, size, headers=None):
    """POSTs headers announcing a body of size bytes, sends none of it, and
    returns the status the server answers up front (413 expected)."""
    import http.client
    import urllib.parse
    u = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
    try:
        conn.putrequest("POST", u.path)
        for k, v in (headers or {}).items():
            conn.putheader(k, v)
        conn.putheader("Content-Type", "application/json")
        conn.putheader("Content-Length", str(size))
        conn.endheaders()
        r = conn.getresponse()
        return r.status, r.read()
    finally:
        conn.close()


def sign(body_bytes, secret=APP_SECRET):
    return "sha256=" + hmac.new(secret.encode(), body_bytes, hashlib.sha256).hexdigest()


def wait_for_line(proc, pattern, timeout=20):
    """Reads proc's stdout until a line matches pattern; returns the match."""
    deadline = time.time() + timeout
    rx = re.compile(pattern)
    while time.time() < deadline:
        line = proc.stdout.readline()
        if not line:
            if proc.poll() is not None:
                raise RuntimeError("process exited with %s before printing %r" % (proc.returncode, pattern))
            continue
        m = rx.search(line)
        if m:
            return m
    raise RuntimeError("timed out waiting for %r" % pattern)


def wait_until(fn, timeout=20, interval=0.05, what="condition"):
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        last = fn()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError("timed out waiting for %s (last: %r)" % (what, last))


def stop_process(p, timeout=20):
    """Stops p with SIGTERM, killing it when it has not exited within
    timeout seconds, and closes its stdout. Returns its exit status, or None
    when it had to be killed."""
    code = p.poll()
    if code is None:
        p.send_signal(signal.SIGTERM)
        try:
            code = p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
            code = None
    if p.stdout:
        p.stdout.close()
    return code


class Sandbox:
    """A workspace with a token and a channel, impactchat serving it and
    wa-sim standing in for Meta. Use as a context manager."""

    def __init__(self, sim_args=(), serve_args=(), start_sim=True, channel_args=(), env=None):
        self.dir = tempfile.mkdtemp(prefix="e2e-", dir=_ensure(TMP))
        self.pg_name = None
        if PG_URL:
            self.pg_name, self.db = pg_create_db()
        else:
            self.db = os.path.join(self.dir, "ic.db")
        self.sim_args = list(sim_args)
        self.serve_args = list(serve_args)
        self.start_sim = start_sim
        self.channel_args = list(channel_args)
        self.env = dict(os.environ)
        self.env.update(env or {})
        self.sim = self.ic = None
        self.logs = []

    # -- set-up -----------------------------------------------------------
    def cli(self, *args, stdin=None, env=None, check=True):
        e = dict(os.environ)
        e.update(env or {})
        p = subprocess.run([os.path.join(BIN, "impactchat")] + list(args) + ["--db", self.db],
                           input=stdin, capture_output=True, text=True, env=e, timeout=60)
        if check and p.returncode != 0:
            raise RuntimeError("impactchat %s failed: %s" % (" ".join(args), p.stderr))
        return p

    def __enter__(self):
        out = self.cli("workspace", "create", "E2E").stdout
        self.ws = int(re.search(r"workspace (\d+) created", out).group(1))
        self.token = self.cli("token", "create", "--workspace", str(self.ws), "--name", "e2e").stdout.strip()
        # wa-sim first (on a free port), so the channel can point at it.
        if self.start_sim:
            self.start_wa_sim()
        graph = "http://127.0.0.1:%d/v21.0" % (self.sim_port if self.start_sim else 9)
        out = self.cli("channel", "add", "--workspace", str(self.ws), "--phone-number-id", PHONE_ID,
                       "--graph-url", graph, "--verify-token", "e2e-verify", *self.channel_args,
                       env={"IC_ACCESS_TOKEN": ACCESS_TOKEN, "IC_APP_SECRET": APP_SECRET}).stdout
        self.channel_uuid = re.search(r"/webhooks/whatsapp/(\S+)", out).group(1)
        self.start_impactchat()
        if self.start_sim:
            self.register_number()
        return self

    def start_wa_sim(self):
        log = open(os.path.join(self.dir, "wa-sim.log"), "w")
        self.logs.append(log)
        # The webhook URL is registered once impactchat's port is known.
        self.sim = subprocess.Popen([os.path.join(BIN, "wa-sim"), "--port", "0"] + self.sim_args,
                                    stdout=subprocess.PIPE, stderr=log, text=True)
        m = wait_for_line(self.sim, r"listening on http://127\.0\.0\.1:(\d+)")
        self.sim_port = int(m.group(1))
        self.sim_url = "http://127.0.0.1:%d" % self.sim_port

    def start_impactchat(self, port=None):
        log = open(os.path.join(self.dir, "impactchat.log"), "a")
        self.logs.append(log)
        port = self.ic_port if port is None and getattr(self, "ic_port", None) else (port or 0)
        if self.ic and self.ic.poll() is not None and self.ic.stdout:
            self.ic.stdout.close()  # a restart: the old process is gone
        self.ic = subprocess.Popen([os.path.join(BIN, "impactchat"), "serve", "--db", self.db,
                                    "--port", str(port), "--media-dir", os.path.join(self.dir, "media")]
                                   + self.serve_args,
                                   stdout=subprocess.PIPE, stderr=log, text=True, env=self.env)
        m = wait_for_line(self.ic, r"listening on http://127\.0\.0\.1:(\d+)")
        self.ic_port = int(m.group(1))
        self.url = "http://127.0.0.1:%d" % self.ic_port
        self.webhook_url = "%s/webhooks/whatsapp/%s" % (self.url, self.channel_uuid)

    def register_number(self, **extra):
        body = {"phone_number_id": PHONE_ID, "access_token": ACCESS_TOKEN,
                "app_secret": APP_SECRET, "webhook_url": self.webhook_url}
        body.update(extra)
        st, js, _ = http("POST", self.sim_url + "/sim/numbers", body)
        assert st == 200, (st, js)

    def __exit__(self, *exc):
        unclean = []
        for name, p in (("impactchat", self.ic), ("wa-sim", self.sim)):
            if p and p.poll() is None:
                # A clean stop exits 0 (under ASan, a leak would not).
                code = stop_process(p)
                if code is None:
                    unclean.append("%s did not stop within 20 s of SIGTERM" % name)
                elif code != 0:
                    unclean.append("%s exited %d on SIGTERM" % (name, code))
            elif p and p.stdout:
                p.stdout.close()
        for f in self.logs:
            f.close()
        keep = exc[0] is not None or unclean or os.environ.get("IC_KEEP_TMP")
        if not keep:
            shutil.rmtree(self.dir, ignore_errors=True)
        else:
            print("kept test files in", self.dir)
        if self.pg_name:
            pg_drop_db(self.pg_name)
        if unclean and exc[0] is None:
            raise AssertionError("; ".join(unclean) + " (logs in %s)" % self.dir)
        return False

    # -- helpers --------------------------------------------------------
    def api(self, method, path, body=None):
        return http(method, self.url + path, body, {"Authorization": "Bearer " + self.token,
                                                    "Content-Type": "application/json"})

    def person_sends(self, wa_id, msg):
        st, js, _ = http("POST", "%s/sim/people/%s/send" % (self.sim_url, wa_id), msg)
        assert st == 200, (st, js)
        return js

    def post_webhook(self, body_bytes, signature=None):
        headers = {"Content-Type": "application/json",
                   "X-Hub-Signature-256": signature if signature is not None else sign(body_bytes)}
        return http("POST", self.webhook_url, body_bytes, headers)

    def sql(self, query, *args):
        """The rows of a SELECT (with ? placeholders) as tuples, on either
        backend: integers as int, text as str, NULL as None."""
        if self.pg_name:
            return pg_select(self.db, query, args)
        con = sqlite3.connect(self.db, timeout=10)
        try:
            return con.execute(query, args).fetchall()
        finally:
            con.close()

    def sim_stats(self):
        return http("GET", self.sim_url + "/sim/stats")[1]


# -- PostgreSQL (IC_TEST_PG_URL) ---------------------------------------------
_pg_made = set()
_pg_n = 0


def _psql(url, sql, variables=()):
    """Runs sql (read from stdin, so :'name' variables are interpolated) on
    url; returns stdout. Raises with psql's message on any error."""
    cmd = ["psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", url]
    for k, v in variables:
        cmd += ["-v", "%s=%s" % (k, v)]
    p = subprocess.run(cmd, input=sql, capture_output=True, text=True, timeout=60)
    if p.returncode != 0:
        raise RuntimeError("psql: %s: %s" % (sql.strip(), p.stderr.strip()))
    return p.stdout


def pg_url_with_db(name):
    """IC_TEST_PG_URL with its database replaced by name (query kept)."""
    u = urllib.parse.urlsplit(PG_URL)
    return urllib.parse.urlunsplit((u.scheme, u.netloc, "/" + name, u.query, ""))


def pg_create_db():
    """Creates a fresh database on the test server; returns (name, URL)."""
    global _pg_n
    _pg_n += 1
    name = "e2e_%d_%d_%x" % (os.getpid(), _pg_n, time.time_ns() // 1000)
    _psql(PG_URL, "CREATE DATABASE %s;\n" % name)
    _pg_made.add(name)
    return name, pg_url_with_db(name)


def pg_drop_db(name):
    if name in _pg_made:
        _pg_made.discard(name)
        _psql(PG_URL, "DROP DATABASE IF EXISTS %s WITH (FORCE);\n" % name)


@atexit.register
def _pg_drop_all():
    # A Sandbox whose set-up failed never reached __exit__.
    for name in list(_pg_made):
        try:
            pg_drop_db(name)
        except Exception as e:  # noqa: BLE001 - best effort at exit
            print("could not drop test database %s: %s" % (name, e))


def pg_select(url, query, args=()):
    """Runs a SELECT with ? placeholders on PostgreSQL. Each row comes back
    as one JSON object (row_to_json keeps column order and types), so text
    with any characters, integers and NULL survive the trip through psql."""
    parts = query.split("?")
    if len(parts) - 1 != len(args):
        raise ValueError("%d placeholders, %d arguments" % (len(parts) - 1, len(args)))
    q = parts[0]
    variables = []
    for i, a in enumerate(args):
        variables.append(("a%d" % i, a))
        q += ":'a%d'" % i + parts[i + 1]
    out = _psql(url, "SELECT row_to_json(q) FROM (%s) q;\n" % q.rstrip().rstrip(";"), variables)
    rows = []
    for line in out.splitlines():
        if line.strip():
            rows.append(tuple(v for _, v in json.loads(line, object_pairs_hook=list)))
    return rows


def _ensure(d):
    os.makedirs(d, exist_ok=True)
    return d


def text_webhook(wamid, wa_id="27820001111", body="hello", ts=None, name="Thandi"):
    """A Meta-shaped inbound text webhook body (bytes)."""
    ts = ts or int(time.time())
    return json.dumps({"object": "whatsapp_business_account", "entry": [{"id": "102290129340398", "changes": [{
        "field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "15550001", "phone_number_id": PHONE_ID},
            "contacts": [{"profile": {"name": name}, "wa_id": wa_id}],
            "messages": [{"from": wa_id, "id": wamid, "timestamp": str(ts), "type": "text",
                          "text": {"body": body}}]}}]}]}).encode()
