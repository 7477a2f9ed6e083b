#!/usr/bin/env python3
"""Outbound benchmark: N template messages queued through the API to distinct
people, sent to wa-sim at a throughput limit R. Reports the rate achieved
while the outbox is backlogged (against R), wa-sim's 130429 answers and its
busiest sliding second, and the CPU used by impactchat's sender thread.
Usage: bench/outbound.py BUILD_DIR RATE MESSAGES"""
import json
import os
import subprocess
import sys
import time

BUILD = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else "build")
RATE = int(sys.argv[2]) if len(sys.argv) > 2 else 1000
N = int(sys.argv[3]) if len(sys.argv) > 3 else 100000
os.environ.setdefault("IC_BIN_DIR", BUILD)
os.environ.setdefault("IC_TEST_TMP", os.path.join(BUILD, "tmp"))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "../tests/e2e"))
from harness import Sandbox  # noqa: E402

CLK_TCK = os.sysconf("SC_CLK_TCK")


def thread_cpu_s(pid, name):
    """CPU seconds (user + system) of the thread of pid called name."""
    for tid in os.listdir("/proc/%d/task" % pid):
        try:
            with open("/proc/%d/task/%s/comm" % (pid, tid)) as f:
                if f.read().strip() != name:
                    continue
            with open("/proc/%d/task/%s/stat" % (pid, tid)) as f:
                fields = f.read().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / CLK_TCK
        except OSError:
            continue
    raise RuntimeError("no thread %s in %d" % (name, pid))


def main():
    with Sandbox(sim_args=["--mps", str(RATE)], channel_args=["--mps", str(RATE)],
                 env={"IC_LOG_LEVEL": "warn"}) as sb:
        sb.register_number(mps=RATE)
        loader = subprocess.Popen([os.path.join(BUILD, "bench_load"), "--url", sb.url + "/api/v1/messages",
                                   "--api-token", sb.token, "--requests", str(N), "--connections", "32"],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        # The backlog: from the first accepted send until all N are accepted.
        samples = []
        t_start = time.time()
        t_first = None
        while True:
            st = sb.sim_stats()
            now = time.time()
            acc = st["accepted"]
            if acc > 0 and t_first is None:
                t_first, acc_first, cpu_first = now, acc, thread_cpu_s(sb.ic.pid, "ic-sender")
            if t_first is not None:
                samples.append((now, acc))
            if acc >= N:
                t_last, cpu_last = now, thread_cpu_s(sb.ic.pid, "ic-sender")
                break
            if loader.poll() is not None and loader.returncode != 0 and acc == 0:
                raise RuntimeError("the loader failed: %s" % loader.stderr.read())
            if now - (t_first or t_start) > N / RATE * 3 + 60:
                raise RuntimeError("stalled at %d of %d" % (acc, N))
            time.sleep(0.2)
        load = json.loads(loader.communicate()[0].strip().splitlines()[-1])
        st = sb.sim_stats()
        elapsed = t_last - t_first
        rate = (N - acc_first) / elapsed
        cpu = (cpu_last - cpu_first) / elapsed * 100
        print("| %d/s | %d | %.1f/s (%.1f%%) | %d | %d | %.1f%% | %d/s |" % (
            RATE, N, rate, rate / RATE * 100, st["throttled_130429"], st["max_rate_1s"], cpu,
            load["messages_per_s"]))
        ok = rate >= 0.98 * RATE and st["throttled_130429"] == 0 and st["duplicates"] == 0
        return 0 if ok else 1


if __name__ == "__main__":
    print("| limit | messages | achieved rate | 130429 answers | busiest second at wa-sim | sender CPU (one core) | API queueing rate |")
    print("|---|---|---|---|---|---|---|")
    sys.exit(main())
