"""A private, throwaway PostgreSQL server for one e2e test: started with
scripts/pg-test-server.sh (initdb + pg_ctl on a free loopback port, as the
`postgres` user when run as root), restarted with pg_ctl on the same data
directory and port, stopped and removed at the end (also at exit, so a
failing test leaves nothing running). Never the shared server of
`make test-pg`. Only the Python standard library and the PostgreSQL binaries.
"""
import atexit
import glob
import os
import shutil
import subprocess
import tempfile

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "../.."))
SCRIPT = os.path.join(ROOT, "scripts", "pg-test-server.sh")


def bindir():
    """The newest /usr/lib/postgresql/*/bin holding pg_ctl, or None."""
    def version(d):
        try:
            return float(d.split("/")[-2])
        except ValueError:
            return 0.0
    dirs = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=version)
    dirs = [d for d in dirs if os.access(os.path.join(d, "pg_ctl"), os.X_OK)]
    return dirs[-1] if dirs else None


def missing():
    """Why a private server cannot run here (a sentence), or None."""
    if not bindir():
        return "PostgreSQL server binaries not found (/usr/lib/postgresql/*/bin, package postgresql)"
    if not shutil.which("psql"):
        return "the psql client is not installed"
    if os.geteuid() == 0 and subprocess.run(["getent", "passwd", "postgres"],
                                            capture_output=True).returncode != 0:
        return "running as root and there is no postgres system user"
    return None


class PgServer:
    """One private server. start() returns its URL (database `postgres`,
    user `postgres`, trust authentication on 127.0.0.1)."""

    def __init__(self, parent):
        if os.geteuid() == 0 and (os.stat(parent).st_mode & 0o001) == 0:
            # As root the server runs as `postgres`, which must be able to
            # reach its folder: the tests' scratch folder may be private.
            parent = None  # the system's temporary folder
        self.dir = tempfile.mkdtemp(prefix="pg-e2e-", dir=parent)
        self.data = os.path.join(self.dir, "data")
        self.url = None
        self._as_pg = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        atexit.register(self.stop)

    def start(self):
        p = subprocess.run([SCRIPT, "start", self.dir], capture_output=True, text=True, timeout=120)
        if p.returncode != 0:
            raise RuntimeError("pg-test-server.sh start failed: %s" % p.stderr.strip())
        self.url = p.stdout.strip()
        return self.url

    def pg_ctl(self, *args, timeout=60):
        """Runs pg_ctl on this server's data directory; returns the
        CompletedProcess (raises on a non-zero exit)."""
        cmd = self._as_pg + [os.path.join(bindir(), "pg_ctl"), "-D", self.data] + list(args)
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        if p.returncode != 0:
            raise RuntimeError("pg_ctl %s failed: %s%s" % (" ".join(args), p.stdout, p.stderr))
        return p

    def restart(self, mode):
        """Restarts the server with the shutdown mode `fast` (clients
        disconnected, checkpoint) or `immediate` (killed: crash recovery on
        start), on the same port (pg_ctl keeps the start options), and
        waits until it accepts connections again."""
        self.pg_ctl("-m", mode, "-w", "-t", "60", "restart", "-l", os.path.join(self.dir, "server.log"))

    def psql(self, sql):
        """Runs sql on the server; returns psql's unaligned, tuples-only output."""
        p = subprocess.run(["psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", self.url],
                           input=sql, capture_output=True, text=True, timeout=60)
        if p.returncode != 0:
            raise RuntimeError("psql: %s: %s" % (sql.strip(), p.stderr.strip()))
        return p.stdout

    def log_tail(self, n=30):
        try:
            with open(os.path.join(self.dir, "server.log"), errors="replace") as f:
                return "".join(f.readlines()[-n:])
        except OSError:
            return ""

    def stop(self):
        """Stops the server and removes its directory; safe to call twice."""
        if self.dir and os.path.isdir(self.dir):
            subprocess.run([SCRIPT, "stop", self.dir], capture_output=True, timeout=120)
            shutil.rmtree(self.dir, ignore_errors=True)
        self.dir = None


def start_for(test, parent):
    """A private server for a unittest.TestCase, started in its folder
    parent and stopped at the test's cleanup; skips the test (saying why)
    when PostgreSQL's binaries are missing. Returns the running server."""
    why = missing()
    if why:
        print("SKIP: %s" % why)
        test.skipTest(why)
    os.makedirs(parent, exist_ok=True)
    srv = PgServer(parent)
    test.addCleanup(srv.stop)
    srv.start()
    return srv
