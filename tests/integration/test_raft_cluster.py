# SPDX-License-Identifier: Apache-2.0
"""Three masters replicating with raft, as real processes on loopback, under
a steady load of job submissions:

- kill -9 of the leader: a new leader is elected, writes resume, and every
  write acknowledged before, during and after the kill is on every
  survivor; the killed master restarts, catches up and agrees;
- SIGSTOP of the leader (the partition this machine can make without a
  network namespace per process): the others elect a new leader and go on;
  after SIGCONT the old leader steps down, holds the new writes, and no
  write was acknowledged by it while it was cut off;
- a master whose data dir is wiped rejoins under a new id; the old id is
  removed with `deepcloud master remove`;
- all the jobs finish, each task accepted once."""
import json
import os
import shutil
import signal
import threading
import time

from harness import Cloud, check, finish

SPEC = {"name": "load", "tasks": [{"name": "t", "command": ["true"],
                                   "resources": {"cpu": 0.1, "memory_mb": 16}}]}


class Load:
    """Submits jobs one after another through the CLI (which knows every
    master and follows the leader) and records what was acknowledged."""

    def __init__(self, cloud):
        self.cloud = cloud
        self.acked = []          # (job id, index, time acknowledged)
        self.failed = []         # (time, stderr)
        self.stop = False
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self.run, daemon=True) for _ in range(3)]

    def start(self):
        for t in self.threads:
            t.start()

    def join(self):
        self.stop = True
        for t in self.threads:
            t.join()

    def run(self):
        path = os.path.join(self.cloud.dir, f"load-{threading.get_ident()}.json")
        with open(path, "w") as f:
            json.dump(SPEC, f)
        while not self.stop:
            r = self.cloud.cli("job", "run", path, "--json", check_rc=False)
            now = time.time()
            with self.lock:
                if r.returncode == 0:
                    j = json.loads(r.stdout)
                    self.acked.append((j["id"], j.get("index", 0), now))
                else:
                    self.failed.append((now, r.stderr.strip()[:200]))
            time.sleep(0.02)


def jobs_on(cloud, api, min_index):
    st, b = cloud.http("GET", "/v1/jobs?limit=100000", api=api,
                       headers={"X-DC-Min-Index": str(min_index)})
    return st, ({j["id"]: j["state"] for j in b["jobs"]} if st == 200 else {})


def master_name(cloud, api):
    return f"master-{cloud.apis.index(api) + 1}"


def all_present(cloud, apis, acked):
    want = {a[0] for a in acked}
    top = max((a[1] for a in acked), default=0)
    ok = True
    for api in apis:
        st, jobs = jobs_on(cloud, api, top)
        missing = want - set(jobs)
        check(st == 200 and not missing,
              f"{master_name(cloud, api)}: all {len(want)} acknowledged jobs present "
              f"(missing {len(missing)}, status {st})")
        ok = ok and st == 200 and not missing
    return ok


# A tiny snapshot threshold (every master reads it from the environment),
# so a follower that falls behind must be sent a snapshot.
cloud = Cloud(providers=3, masters=3, restart=True,
              extra_env={"DEEPCLOUD_RAFT_SNAPSHOT_THRESHOLD": "32"})
try:
    deadline = time.time() + 60
    while time.time() < deadline:
        r = cloud.cli_json("master", "list")
        if sum(m["role"] == "voter" for m in r["masters"]) == 3:
            break
        time.sleep(0.2)
    voters = [m for m in r["masters"] if m["role"] == "voter"]
    check(r["log"] == "raft" and len(voters) == 3, "three voters in the raft configuration")
    check(sum(m["leader"] for m in r["masters"]) == 1, "exactly one leader")

    # ---- leader killed with SIGKILL under load ----
    load = Load(cloud)
    load.start()
    time.sleep(3)
    leader = cloud.leader_api()
    n_before = len(load.acked)
    t_kill = time.time()
    cloud.kill9(master_name(cloud, leader))
    survivors = [a for a in cloud.apis if a != leader]
    new = None
    while time.time() - t_kill < 20 and not new:
        for a in survivors:
            h = cloud.health(a)
            if h and h.get("leader"):
                new = a
        time.sleep(0.01)
    t_elected = time.time()
    while time.time() - t_kill < 30 and not any(a[2] > t_kill for a in load.acked):
        time.sleep(0.01)
    t_write = min((a[2] for a in load.acked if a[2] > t_kill), default=None)
    check(new is not None, f"a new leader was elected in {t_elected - t_kill:.2f} s")
    check(t_write is not None,
          f"writes resumed {t_write - t_kill:.2f} s after the kill" if t_write else
          "writes resumed")
    time.sleep(2)
    load.join()
    print(f"# load: {len(load.acked)} acknowledged ({n_before} before the kill), "
          f"{len(load.failed)} refused or in doubt", flush=True)
    for f in load.failed[:3]:
        print(f"#   {f[1]}")
    all_present(cloud, survivors, load.acked)

    # The supervisor restarts the killed master; it catches up and agrees.
    top = max(a[1] for a in load.acked)
    deadline = time.time() + 60
    while time.time() < deadline:
        h = cloud.health(leader)
        if h and h["applied_index"] >= top:
            break
        time.sleep(0.2)
    h = cloud.health(leader)
    check(h is not None and h["applied_index"] >= top and not h["leader"],
          f"the restarted master caught up as a follower (applied "
          f"{h and h['applied_index']} >= {top})")
    all_present(cloud, [leader], load.acked)

    # ---- the leader frozen (SIGSTOP), then thawed ----
    load2 = Load(cloud)
    load2.start()
    time.sleep(1.5)
    old = cloud.leader_api()
    pid = cloud.pid(master_name(cloud, old))
    os.kill(pid, signal.SIGSTOP)
    t_stop = time.time()
    others = [a for a in cloud.apis if a != old]
    new = None
    while time.time() - t_stop < 20 and not new:
        for a in others:
            h = cloud.health(a)
            if h and h.get("leader"):
                new = a
        time.sleep(0.01)
    check(new is not None, f"with the leader frozen, another was elected in "
                           f"{time.time() - t_stop:.2f} s")
    time.sleep(2)
    during = [a for a in load2.acked if a[2] > t_stop]
    check(len(during) > 0, f"writes went on while the old leader was frozen ({len(during)})")
    os.kill(pid, signal.SIGCONT)
    time.sleep(2)
    load2.join()
    h = cloud.health(old)
    check(h is not None and not h["leader"], "the thawed old leader stepped down")
    both = load.acked + load2.acked
    all_present(cloud, cloud.apis, both)

    # ---- a master killed while behind restarts from a snapshot ----
    # Frozen first (so nothing the leader sends reaches its state), killed,
    # then restarted by the supervisor: by then the leader has compacted the
    # entries it lacks, so it must be sent a snapshot.
    lag = next(a for a in cloud.apis if a != cloud.leader_api())
    lname = master_name(cloud, lag)
    lpid = cloud.pid(lname)
    load3 = Load(cloud)
    load3.start()
    os.kill(lpid, signal.SIGSTOP)
    time.sleep(6)
    os.kill(lpid, signal.SIGKILL)
    time.sleep(3)
    load3.join()
    both = both + load3.acked
    all_present(cloud, [lag], both)
    with open(os.path.join(cloud.dir, "cloud", f"{lname}.log")) as f:
        restored = "restored snapshot" in f.read()
    check(restored, f"{lname} restarted and caught up by restoring a snapshot")

    # ---- a wiped data dir rejoins under a new id ----
    lst = cloud.cli_json("master", "list")
    follower = next(m for m in lst["masters"] if not m["leader"])
    fname = master_name(cloud, follower["api_url"])
    fdir = os.path.join(cloud.dir, "cloud", fname)
    fpid = cloud.pid(fname)
    os.kill(fpid, signal.SIGSTOP)
    for e in os.listdir(fdir):
        if e != "dev.ports":
            p = os.path.join(fdir, e)
            shutil.rmtree(p) if os.path.isdir(p) else os.unlink(p)
    os.kill(fpid, signal.SIGKILL)
    old_ids = {m["id"] for m in lst["masters"]}
    new_id = None
    deadline = time.time() + 60
    while time.time() < deadline and not new_id:
        time.sleep(0.5)
        lst = cloud.cli_json("master", "list")
        ids = {m["id"] for m in lst["masters"]}
        fresh = ids - old_ids
        if (fresh and follower["id"] not in ids and len(ids) == 3 and
                all(m["role"] == "voter" for m in lst["masters"])):
            new_id = fresh.pop()
    check(new_id is not None,
          f"the wiped master rejoined under a new id ({new_id}) and its old id "
          f"{follower['id']} left the configuration")
    check(all(m["role"] == "voter" for m in lst["masters"]), "three voters again")
    all_present(cloud, [follower["api_url"]], both)

    # ---- remove a follower, then add it back ----
    with open(os.path.join(cloud.dir, "cloud", "cluster.token")) as f:
        token = f.read().strip()
    r = cloud.cli("master", "remove", str(new_id), "--token", "wrong", check_rc=False)
    check(r.returncode != 0 and "token" in r.stderr.lower(), "a wrong cluster token is refused")

    # Malformed requests are refused with a reason and change nothing.
    n_before = len(cloud.cli_json("master", "list")["masters"])
    bad = json.dumps({"id": 5, "raft_addr": "127.0.0.1:1", "colour": 1})
    fn = os.path.join(cloud.dir, "bad-master.json")
    with open(fn, "w") as f:
        f.write(bad)
    hdr = json.loads(cloud.cli("api", "POST", "/v1/masters", "--data", fn,
                               "--headers-only").stdout)
    hdr["X-DC-Cluster-Token"] = token
    st, body = cloud.http("POST", "/v1/masters", bad, headers=hdr, api=cloud.leader_api())
    check(st == 400 and "colour" in json.dumps(body),
          f"an unknown field in a membership request is refused ({st})")
    check(len(cloud.cli_json("master", "list")["masters"]) == n_before,
          "and the configuration is unchanged")
    st, _ = cloud.http("GET", "/v1/jobs", headers={"X-DC-Min-Index": "abc"})
    check(st == 400, f"a malformed X-DC-Min-Index is refused ({st})")
    st, _ = cloud.http("GET", "/v1/jobs", headers={"X-DC-Consistency": "sometimes"})
    check(st == 400, f"an unknown X-DC-Consistency is refused ({st})")
    r = cloud.cli("master", "remove", str(new_id), "--token", token, check_rc=False)
    check(r.returncode == 0, f"master remove: {r.stdout.strip()} {r.stderr.strip()}")
    lst = cloud.cli_json("master", "list")
    check(len(lst["masters"]) == 2 and new_id not in {m["id"] for m in lst["masters"]},
          "two masters left after the removal")
    r = cloud.cli("master", "add", follower["api_url"], "--standby", "--token", token,
                  check_rc=False)
    check(r.returncode == 0, f"master add --standby: {r.stdout.strip()} {r.stderr.strip()}")
    lst = cloud.cli_json("master", "list")
    roles = {m["id"]: m["role"] for m in lst["masters"]}
    check(roles.get(new_id) == "standby" and sum(v == "voter" for v in roles.values()) == 2,
          f"it is a standby (replicates, does not vote): {roles}")
    r = cloud.cli("master", "add", follower["api_url"], "--token", token, check_rc=False)
    check(r.returncode == 0, f"master add (promote): {r.stdout.strip()} {r.stderr.strip()}")
    deadline = time.time() + 30
    while time.time() < deadline:
        lst = cloud.cli_json("master", "list")
        if sum(m["role"] == "voter" for m in lst["masters"]) == 3:
            break
        time.sleep(0.3)
    check(sum(m["role"] == "voter" for m in lst["masters"]) == 3 and
          new_id in {m["id"] for m in lst["masters"]}, "added back: three voters")
    all_present(cloud, [follower["api_url"]], both)

    # ---- every job finishes, each task accepted once ----
    last = both[-1][0]
    f = cloud.wait_job(last, timeout=300)
    deadline = time.time() + 300
    while time.time() < deadline:
        st, jobs = jobs_on(cloud, cloud.leader_api(), 0)
        if all(s != "running" for s in jobs.values()):
            break
        time.sleep(0.5)
    st, jobs = jobs_on(cloud, cloud.leader_api(), 0)
    states = {}
    for s in jobs.values():
        states[s] = states.get(s, 0) + 1
    check(all(s == "succeeded" for s in jobs.values()), f"every job succeeded: {states}")

    # ---- a planned stop hands leadership over first ----
    old = cloud.leader_api()
    oname = master_name(cloud, old)
    t_term = time.time()
    os.kill(cloud.pid(oname), signal.SIGTERM)
    new = None
    while time.time() - t_term < 10 and new is None:
        for a in cloud.apis:
            if a != old and (cloud.health(a) or {}).get("leader"):
                new = a
        time.sleep(0.005)
    took = time.time() - t_term
    with open(os.path.join(cloud.dir, "cloud", f"{oname}.log")) as f:
        handed = "leadership handed over" in f.read()
    check(new is not None and handed,
          f"SIGTERM on the leader handed leadership over ({took:.3f} s to a new leader)")

    # The dev faucet works under whichever master leads now.
    r = cloud.cli("wallet", "faucet", "--json", check_rc=False)
    check(r.returncode == 0, f"the dev faucet works under the new leader ({r.stderr.strip()[:120]})")

    # ---- the ledger agrees on every master ----
    time.sleep(2)  # the leader seals the last commands into a block
    for i in range(3):
        mdir = os.path.join(cloud.dir, "cloud", f"master-{i + 1}")
        r = cloud.cli("ledger", "verify", "--from-genesis", "--data", mdir, "--json",
                      check_rc=False)
        rep = json.loads(r.stdout) if r.stdout.strip().startswith("{") else {}
        check(r.returncode == 0 and rep.get("ok") is True,
              f"ledger verify --from-genesis passes on master-{i + 1} "
              f"({rep.get('blocks')} blocks, {r.stderr.strip()[:120]})")
finally:
    cloud.stop()
finish()
