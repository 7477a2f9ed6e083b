"""End to end: three `impactchat serve` nodes on one PostgreSQL, with wa-sim
playing Meta (issue 3's acceptance test).

1. Inbound: signed webhooks go to all three nodes at once, and about a third
   of them are delivered again to another node (Meta's duplicates). Every
   message must be stored exactly once.
2. Outbound: 20,000 template messages are queued through the API of all
   three nodes. Only the node holding the channel's lease sends; it is killed
   with SIGKILL while most of them are still queued. Another node must take
   the lease over, and in the end every message must have reached wa-sim
   exactly once (wa-sim counts repeated biz_opaque_callback_data), with no
   130429 (the channel's rate was never exceeded) and every row settled.

The test brings its own private PostgreSQL (tests/e2e/pg_server.py), so it
runs in the SQLite pass of `make test`; it prints SKIP and exits 0 when the
PostgreSQL binaries are missing. Status webhooks go to a node that stays up,
as they would through a load balancer.
"""
import http.client as httpclient
import json
import os
import random
import signal
import subprocess
import threading
import time
import unittest
import urllib.parse

import harness
import pg_server
from harness import BIN, TMP, sign, text_webhook, wait_for_line, wait_until

MPS = 500
OUTBOUND = 20000
INBOUND = 1500
DUP_SHARE = 0.35
KILL_AFTER = 3000  # accepted by wa-sim before the lease holder is killed
LEASE_MS = 2000
RECONCILE_MS = 15000
# Three nodes, PostgreSQL, wa-sim and the test share two cores here: a
# wider pacing margin (docs/internals/sending.md) absorbs the scheduling
# jitter that would otherwise let a few sends arrive bunched at wa-sim.
NODE_ENV = {"IC_SENDER_LEASE_MS": str(LEASE_MS), "IC_SENDER_RECONCILE_MS": str(RECONCILE_MS),
            "IC_SENDER_MARGIN_MS": "40"}


class MultiSandbox(harness.Sandbox):
    """A harness Sandbox with wa-sim on a database of the private server;
    its own impactchat is node 1."""

    def __init__(self, url):
        saved, harness.PG_URL = harness.PG_URL, None  # nothing on the shared server
        try:
            super().__init__(sim_args=["--mps", str(MPS), "--no-read"],
                             channel_args=["--mps", str(MPS)], env=NODE_ENV)
        finally:
            harness.PG_URL = saved
        self.db = url
        self.nodes = []  # the other nodes: (Popen, base URL, log file)

    def start_node(self):
        log = open(os.path.join(self.dir, "node%d.log" % (len(self.nodes) + 2)), "w")
        self.logs.append(log)
        env = dict(os.environ)
        env.update(NODE_ENV)
        p = subprocess.Popen([os.path.join(BIN, "impactchat"), "serve", "--db", self.db, "--port", "0",
                              "--media-dir", os.path.join(self.dir, "media%d" % len(self.nodes))],
                             stdout=subprocess.PIPE, stderr=log, text=True, env=env)
        m = wait_for_line(p, r"listening on http://127\.0\.0\.1:(\d+)")
        self.nodes.append((p, "http://127.0.0.1:%s" % m.group(1)))
        return self.nodes[-1]

    def __exit__(self, *exc):
        for p, _ in self.nodes:
            harness.stop_process(p)
        return super().__exit__(*exc)


class KeepAlive:
    """One keep-alive HTTP connection per thread and host."""

    def __init__(self):
        self.local = threading.local()

    def request(self, method, url, body, headers):
        u = urllib.parse.urlsplit(url)
        conns = getattr(self.local, "conns", None)
        if conns is None:
            conns = self.local.conns = {}
        for attempt in range(2):
            c = conns.get(u.netloc)
            if c is None:
                c = conns[u.netloc] = httpclient.HTTPConnection(u.hostname, u.port, timeout=30)
            try:
                c.request(method, u.path, body=body, headers=headers)
                r = c.getresponse()
                data = r.read()
                return r.status, data
            except (httpclient.HTTPException, OSError):
                c.close()
                del conns[u.netloc]
                if attempt == 1:
                    raise
        return None

    def close(self):
        """Closes the calling thread's connections."""
        for c in getattr(self.local, "conns", {}).values():
            c.close()
        self.local.conns = {}


def run_threads(n, fn):
    """Runs fn(0..n-1) on n threads; re-raises the first failure."""
    errors = []

    def guarded(i):
        try:
            fn(i)
        except BaseException as e:  # noqa: B902 - reported below
            errors.append(e)
    ts = [threading.Thread(target=guarded, args=(i,)) for i in range(n)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    if errors:
        raise errors[0]


class MultiNodeTest(unittest.TestCase):
    def setUp(self):
        self.pg = pg_server.start_for(self, TMP)

    def sql_i(self, query):
        """The one integer query answers, on the test's database."""
        return int(harness.pg_select(self.db_url, query)[0][0])

    def test_three_nodes_share_one_database(self):
        self.pg.psql("CREATE DATABASE multinode;")
        self.db_url = self.pg.url.rsplit("/", 1)[0] + "/multinode"
        with MultiSandbox(self.db_url) as sb:
            # Node 1 (the Sandbox's) takes the channel's lease first.
            wait_until(lambda: self.sql_i("SELECT count(*) FROM sender_leases WHERE node_id LIKE '%%:%d:%%'"
                                          % sb.ic.pid) == 1, what="node 1 holds the lease")
            _, url2 = sb.start_node()
            _, url3 = sb.start_node()
            # Status webhooks go to node 2, which stays up.
            sb.register_number(webhook_url="%s/webhooks/whatsapp/%s" % (url2, sb.channel_uuid))
            node_urls = [sb.url, url2, url3]
            self.inbound_everywhere_stored_once(sb, node_urls)
            self.outbound_survives_the_lease_holder(sb, node_urls)

    def inbound_everywhere_stored_once(self, sb, node_urls):
        rnd = random.Random(7)
        path = "/webhooks/whatsapp/" + sb.channel_uuid
        jobs = []
        for i in range(INBOUND):
            wamid = "wamid.mn-%06d" % i
            jobs.append((wamid, rnd.randrange(3)))
            if rnd.random() < DUP_SHARE:
                jobs.append((wamid, rnd.randrange(3)))  # a duplicate, maybe to another node
        rnd.shuffle(jobs)
        ka = KeepAlive()
        answers = {}
        lock = threading.Lock()

        def worker(t):
            for wamid, node in jobs[t::8]:
                body = text_webhook(wamid, wa_id="2782%07d" % (hash(wamid) % 400), body="hi")
                while True:  # as Meta does: again until 200
                    st, _ = ka.request("POST", node_urls[node] + path, body,
                                       {"Content-Type": "application/json",
                                        "X-Hub-Signature-256": sign(body)})
                    if st == 200:
                        break
                    self.assertEqual(st, 503)
                    time.sleep(0.05)
                with lock:
                    answers[wamid] = answers.get(wamid, 0) + 1
            ka.close()

        run_threads(8, worker)
        self.assertEqual(len(answers), INBOUND)
        self.assertGreater(sum(answers.values()), INBOUND * 1.2)  # duplicates were sent
        self.assertEqual(self.sql_i("SELECT count(*) FROM messages WHERE direction = 'in'"), INBOUND)
        self.assertEqual(self.sql_i("SELECT count(DISTINCT wa_id) FROM messages WHERE direction = 'in'"),
                         INBOUND)

    def outbound_survives_the_lease_holder(self, sb, node_urls):
        ka = KeepAlive()
        headers = {"Authorization": "Bearer " + sb.token, "Content-Type": "application/json"}
        queued = []
        lock = threading.Lock()

        def worker(t):
            for i in range(t, OUTBOUND, 8):
                body = json.dumps({"channel_id": 1, "to": "2783%07d" % i,
                                   "message": {"type": "template", "template": {
                                       "name": "hello_world", "language": {"code": "en_US"}}}})
                st, data = ka.request("POST", node_urls[i % 3] + "/api/v1/messages", body, headers)
                self.assertEqual(st, 202, data)
                with lock:
                    queued.append(json.loads(data)["id"])
            ka.close()

        run_threads(8, worker)
        self.assertEqual(len(set(queued)), OUTBOUND)
        wait_until(lambda: sb.sim_stats()["accepted"] >= KILL_AFTER, timeout=60,
                   what="%d sends before the kill" % KILL_AFTER)
        sb.ic.send_signal(signal.SIGKILL)  # node 1, the lease holder
        sb.ic.wait()
        at_kill = sb.sim_stats()["accepted"]
        self.assertLess(at_kill, OUTBOUND * 0.8, "too little was left queued at the kill")

        def settled():
            left = self.sql_i("SELECT count(*) FROM messages WHERE direction = 'out'"
                              " AND status NOT IN ('sent', 'delivered', 'read')")
            return left == 0 and sb.sim_stats()["accepted"] >= OUTBOUND
        wait_until(settled, timeout=OUTBOUND / MPS + RECONCILE_MS / 1000 * 3 + 60, interval=0.5,
                   what="every outbound message sent after the failover")
        time.sleep(1)  # anything sent twice would show now
        st = sb.sim_stats()
        self.assertEqual(st["accepted"], OUTBOUND, st)
        self.assertEqual(st["duplicates"], 0, st)
        self.assertEqual(st["throttled_130429"], 0, st)
        self.assertLessEqual(st["max_rate_1s"], MPS, st)
        self.assertEqual(self.sql_i("SELECT count(*) FROM messages WHERE direction = 'out'"), OUTBOUND)
        holder = self.sql_i("SELECT epoch FROM sender_leases")
        self.assertGreaterEqual(holder, 2)  # taken over
        print("multinode: kill at %d accepted; lease epoch %d; resent %d" % (
            at_kill, holder, self.sql_i("SELECT coalesce(sum(resends), 0) FROM messages")))


if __name__ == "__main__":
    unittest.main()
