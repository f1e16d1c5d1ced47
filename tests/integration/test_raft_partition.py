# SPDX-License-Identifier: Apache-2.0
"""A network partition of the raft leader, with real network namespaces.

Three masters, each in its own network namespace, joined by veth pairs to a
bridge. The leader's link is cut: the two others (the majority) elect a new
leader and keep committing; the old leader (the minority) must not commit
anything — a write sent to it from inside its namespace is never
acknowledged, and after the link is restored that write is nowhere, the
old leader has stepped down and holds every write the majority committed.
Skipped (exit 77) where network namespaces cannot be made."""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request

from harness import BIN, check, finish

NET = "10.77.{}.{}"
TAG = f"dcp{os.getpid() % 10000}"


def sh(*args, ok=True):
    r = subprocess.run(args, capture_output=True, text=True)
    if ok and r.returncode != 0:
        raise RuntimeError(f"{' '.join(args)}: {r.stderr.strip()}")
    return r


def setup_net(n):
    sub = os.getpid() % 200 + 20
    br = f"{TAG}br"
    sh("ip", "link", "add", br, "type", "bridge")
    sh("ip", "addr", "add", NET.format(sub, 254) + "/24", "dev", br)
    sh("ip", "link", "set", br, "up")
    addrs = []
    for i in range(n):
        ns, host, peer = f"{TAG}n{i}", f"{TAG}h{i}", f"{TAG}p{i}"
        sh("ip", "netns", "add", ns)
        sh("ip", "link", "add", host, "type", "veth", "peer", "name", peer)
        sh("ip", "link", "set", peer, "netns", ns)
        sh("ip", "link", "set", host, "master", br)
        sh("ip", "link", "set", host, "up")
        ip = NET.format(sub, i + 1)
        sh("ip", "netns", "exec", ns, "ip", "addr", "add", ip + "/24", "dev", peer)
        sh("ip", "netns", "exec", ns, "ip", "link", "set", peer, "up")
        sh("ip", "netns", "exec", ns, "ip", "link", "set", "lo", "up")
        addrs.append(ip)
    return addrs


def teardown_net(n):
    for i in range(n):
        sh("ip", "netns", "del", f"{TAG}n{i}", ok=False)
        sh("ip", "link", "del", f"{TAG}h{i}", ok=False)
    sh("ip", "link", "del", f"{TAG}br", ok=False)


def health(ip):
    try:
        with urllib.request.urlopen(f"http://{ip}:8420/v1/health", timeout=1) as r:
            return json.loads(r.read())
    except Exception:
        return None


def jobs(ip, min_index=0):
    req = urllib.request.Request(f"http://{ip}:8420/v1/jobs?limit=100000",
                                 headers={"X-DC-Min-Index": str(min_index)})
    with urllib.request.urlopen(req, timeout=10) as r:
        return {j["id"] for j in json.loads(r.read())["jobs"]}


try:
    addrs = setup_net(3)
except (RuntimeError, FileNotFoundError) as e:
    teardown_net(3)
    print(f"# skipped: cannot make network namespaces here ({e})")
    sys.exit(77)

tmp = tempfile.mkdtemp(prefix="dc-part-")
procs = []
home = os.path.join(tmp, "home")
env = dict(os.environ, DEEPCLOUD_HOME=home)
spec = os.path.join(tmp, "spec.json")
with open(spec, "w") as f:
    json.dump({"name": "p", "tasks": [{"name": "t", "command": ["true"]}]}, f)
try:
    for i, ip in enumerate(addrs):
        args = ["ip", "netns", "exec", f"{TAG}n{i}", BIN, "master",
                "--data-dir", os.path.join(tmp, f"m{i}"), "--api-addr", f"{ip}:8420",
                "--listen", f"{ip}:8421", "--raft-addr", f"{ip}:8422",
                "--cluster-token", "partition-test"]
        args += ["--bootstrap=true"] if i == 0 else \
            ["--join", ",".join(f"http://{a}:8420" for a in addrs if a != ip)]
        log = open(os.path.join(tmp, f"m{i}.log"), "w")
        procs.append(subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT))
    deadline = time.time() + 60
    while time.time() < deadline:
        h = health(addrs[0])
        lst = None
        if h and h.get("leader"):
            with urllib.request.urlopen(f"http://{addrs[0]}:8420/v1/masters", timeout=2) as r:
                lst = json.loads(r.read())
        if lst and sum(m["role"] == "voter" for m in lst["masters"]) == 3:
            break
        time.sleep(0.2)
    check(lst is not None and len(lst["masters"]) == 3, "three masters in three namespaces")

    apis = ",".join(f"http://{a}:8420" for a in addrs)

    def submit(api, ns=None, timeout=60):
        cmd = [BIN, "job", "run", spec, "--json", "--api", api]
        if ns:
            cmd = ["ip", "netns", "exec", ns] + cmd
        try:
            r = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            return None, "timed out"
        return (json.loads(r.stdout) if r.returncode == 0 else None), r.stderr.strip()

    acked = []
    for _ in range(5):
        j, _ = submit(apis)
        if j:
            acked.append(j)
    check(len(acked) == 5, "writes before the partition")
    leader = next(i for i, a in enumerate(addrs) if (health(a) or {}).get("leader"))
    # Cut the leader off: its veth goes down on the bridge side.
    sh("ip", "link", "set", f"{TAG}h{leader}", "down")
    t_cut = time.time()
    # A write sent to the cut-off leader from inside its own namespace.
    minority = subprocess.Popen(
        ["ip", "netns", "exec", f"{TAG}n{leader}", BIN, "job", "run", spec, "--json",
         "--api", f"http://{addrs[leader]}:8420"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    others = [i for i in range(3) if i != leader]
    new = None
    while time.time() - t_cut < 20 and new is None:
        for i in others:
            if (health(addrs[i]) or {}).get("leader"):
                new = i
        time.sleep(0.02)
    check(new is not None, f"the majority elected a new leader in {time.time() - t_cut:.2f} s")
    majority_api = ",".join(f"http://{addrs[i]}:8420" for i in others)
    for _ in range(5):
        j, err = submit(majority_api)
        if j:
            acked.append(j)
    check(len(acked) == 10, "the majority kept committing")
    out, err = minority.communicate(timeout=120)
    check(minority.returncode != 0,
          f"the cut-off leader acknowledged nothing (exit {minority.returncode}: {err.strip()[:120]})")
    # Heal.
    sh("ip", "link", "set", f"{TAG}h{leader}", "up")
    top = max(j["index"] for j in acked)
    deadline = time.time() + 30
    h = None
    while time.time() < deadline:
        h = health(addrs[leader])
        if h and h["applied_index"] >= top and not h["leader"]:
            break
        time.sleep(0.2)
    check(h is not None and not h["leader"], "the old leader stepped down after healing")
    want = {j["id"] for j in acked}
    for i, a in enumerate(addrs):
        have = jobs(a, top)
        check(want <= have and len(have) == len(want),
              f"master {i + 1}: exactly the {len(want)} acknowledged jobs "
              f"(has {len(have)}, missing {len(want - have)})")
finally:
    for p in procs:
        p.send_signal(signal.SIGTERM)
    for p in procs:
        try:
            p.wait(timeout=15)
        except subprocess.TimeoutExpired:
            p.kill()
    teardown_net(3)
    if not os.environ.get("DC_KEEP"):
        shutil.rmtree(tmp, ignore_errors=True)
finish()
