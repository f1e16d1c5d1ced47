# SPDX-License-Identifier: Apache-2.0
"""Failover of a 3-master cluster of real processes on loopback
(`deepcloud dev --masters 3`, release build), under a steady load of job
submissions:

- kill -9 of the leader, 10 times: time until another master reports itself
  leader, and until a write is acknowledged again (median and max); the
  supervisor restarts the killed master, which must catch up before the
  next round;
- then 60 s of steady load without kills: how many leader changes (target 0).

Prints JSON lines. Usage: bench_failover.py [rounds] [steady_seconds]"""
import json
import os
import signal
import statistics
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "tests", "integration"))
from harness import Cloud  # noqa: E402

ROUNDS = int(sys.argv[1]) if len(sys.argv) > 1 else 10
STEADY_S = float(sys.argv[2]) if len(sys.argv) > 2 else 60

SPEC = {"name": "load", "tasks": [{"name": "t", "command": ["true"],
                                   "resources": {"cpu": 0.05, "memory_mb": 16}}]}


def main():
    cloud = Cloud(providers=2, masters=3, restart=True)
    acked = []
    stop = [False]
    spec = os.path.join(cloud.dir, "spec.json")
    with open(spec, "w") as f:
        json.dump(SPEC, f)

    def load():
        while not stop[0]:
            r = cloud.cli("job", "run", spec, "--json", check_rc=False)
            if r.returncode == 0:
                acked.append(time.time())
            time.sleep(0.05)

    threads = [threading.Thread(target=load, daemon=True) for _ in range(2)]
    for t in threads:
        t.start()
    elect, resume = [], []
    try:
        for rnd in range(ROUNDS):
            time.sleep(1.0)
            leader = cloud.leader_api()
            name = f"master-{cloud.apis.index(leader) + 1}"
            t_kill = time.time()
            os.kill(cloud.pid(name), signal.SIGKILL)
            others = [a for a in cloud.apis if a != leader]
            t_new = None
            while time.time() - t_kill < 30 and t_new is None:
                for a in others:
                    h = cloud.health(a)
                    if h and h.get("leader"):
                        t_new = time.time()
                        break
                time.sleep(0.005)
            while time.time() - t_kill < 30 and not any(t > t_kill for t in acked):
                time.sleep(0.005)
            t_write = min((t for t in acked if t > t_kill), default=None)
            if t_new:
                elect.append(t_new - t_kill)
            if t_write:
                resume.append(t_write - t_kill)
            # wait for the killed master to come back and catch up
            top = cloud.health(cloud.leader_api())["applied_index"]
            deadline = time.time() + 60
            while time.time() < deadline:
                h = cloud.health(leader)
                if h and h["applied_index"] >= top:
                    break
                time.sleep(0.1)
        print(json.dumps({
            "bench": "raft_failover", "rounds": ROUNDS, "elected": len(elect),
            "election_median_s": round(statistics.median(elect), 3) if elect else None,
            "election_max_s": round(max(elect), 3) if elect else None,
            "writes_resumed_median_s": round(statistics.median(resume), 3) if resume else None,
            "writes_resumed_max_s": round(max(resume), 3) if resume else None,
            "target_s": 1.0}), flush=True)
        # steady load: count leader changes by term
        terms0 = {a: (cloud.health(a) or {}).get("term") for a in cloud.apis}
        n0 = len(acked)
        time.sleep(STEADY_S)
        terms1 = {a: (cloud.health(a) or {}).get("term") for a in cloud.apis}
        changes = max((terms1[a] or 0) - (terms0[a] or 0) for a in cloud.apis)
        print(json.dumps({"bench": "raft_steady_load", "seconds": STEADY_S,
                          "writes": len(acked) - n0, "term_changes": changes,
                          "target_term_changes": 0}), flush=True)
    except Exception:
        stop[0] = True
        cloud.stop(keep=True)
        print(f"# kept {cloud.dir}", flush=True)
        raise
    stop[0] = True
    for t in threads:
        t.join()
    cloud.stop()


main()
