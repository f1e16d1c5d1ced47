# SPDX-License-Identifier: Apache-2.0
"""Backup and restore of a replicated cluster, on real processes:

- a 3-master cluster runs jobs and ledger transfers; `deepcloud master
  backup` takes a consistent image from it online;
- everything is stopped, and a NEW 3-master cluster is founded from the file
  (`deepcloud dev --restore`, whose first master runs `master --bootstrap
  --restore`; the others join and receive the state by snapshot);
- every job, task, account and block of the backup is on all three masters,
  their state hashes agree, `ledger verify --from-genesis` passes on each,
  and writes go on;
- a single `local` master starts from the same file;
- refusals that change nothing: a data dir that already holds state, a
  truncated file, a corrupt file, a file that is not a DeepCloud state."""
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import tempfile
import time

from harness import BIN, Cloud, check, finish, free_port

SPEC = {"name": "b", "tasks": [{"name": "t", "count": 3, "command": ["sh", "-c", "echo hi"],
                                "resources": {"cpu": 0.5, "memory_mb": 32}}]}
WALLETS = 3


def wallet(cloud, i, *args):
    env = dict(cloud.env, DEEPCLOUD_HOME=os.path.join(WDIR, f"w{i}"))
    return subprocess.run([BIN, "wallet", *args], env=env, capture_output=True,
                          text=True, timeout=60)


def rows(path, sql):
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return db.execute(sql).fetchall()
    finally:
        db.close()


def backup(cloud, path, api=None):
    env = dict(cloud.env)
    if api:
        env["DEEPCLOUD_API"] = api
    with open(os.path.join(cloud.dir, "cloud", "cluster.token")) as f:
        token = f.read().strip()
    r = subprocess.run([BIN, "master", "backup", path, "--token", token, "--json"],
                       env=env, capture_output=True, text=True, timeout=300)
    return r, (json.loads(r.stdout) if r.returncode == 0 else None)


TABLES = {  # what must be identical: every row of the backup
    "jobs": "SELECT * FROM jobs ORDER BY id",
    "tasks": "SELECT * FROM tasks ORDER BY id",
    "accounts": "SELECT * FROM accounts ORDER BY id",
    "blocks": "SELECT height, hash FROM blocks ORDER BY height",
}

WDIR = tempfile.mkdtemp(prefix="dc-wallets-")
work = tempfile.mkdtemp(prefix="dc-backup-")
FILE = os.path.join(work, "cluster.db")
old = Cloud(providers=2, masters=3, restart=True)
try:
    old.wait_voters(3)
    ids = []
    for i in range(WALLETS):
        r = wallet(old, i, "faucet", "50")
        check(r.returncode == 0, f"wallet {i} funded ({r.stderr.strip()})")
        ids.append(json.loads(wallet(old, i, "show", "--json").stdout)["id"])
    for i in range(WALLETS):
        r = wallet(old, i, "transfer", ids[(i + 1) % WALLETS], f"1.{i}")
        check(r.returncode == 0, f"transfer from wallet {i} ({r.stderr.strip()})")
    jobs = []
    for _ in range(3):
        rc, j = old.submit(SPEC, wait=True)
        check(rc == 0 and j and j.get("state") == "succeeded",
              f"job {j and j.get('id')} succeeded before the backup")
        jobs.append(j["id"])
    time.sleep(1.5)  # a block seals the transfers

    t0 = time.time()
    r, info = backup(old, FILE)
    check(r.returncode == 0 and info and os.path.exists(FILE),
          f"master backup wrote {FILE} ({r.stderr.strip() or info})")
    check(not [f for f in os.listdir(work) if "partial" in f], "no temporary file is left")
    at = info["applied_index"]
    print(f"backup: index {at}, {info['bytes']} bytes, {time.time() - t0:.2f} s, "
          f"hash {info['state_hash'][:16]}")
    want = {t: rows(FILE, q) for t, q in TABLES.items()}
    check(len(want["jobs"]) >= 3 and len(want["tasks"]) >= 9 and len(want["blocks"]) >= 2,
          f"the backup holds the jobs, tasks and blocks ({len(want['jobs'])} jobs, "
          f"{len(want['tasks'])} tasks, {len(want['blocks'])} blocks)")
    got_ids = {row[0] for row in want["jobs"]}
    check(set(jobs) <= got_ids, "every acknowledged job is in the backup")
finally:
    old.stop(keep=True)


def reuse_keys(new_dir):
    """The same machines come back: providers and masters keep their keys
    (their stakes and the dev faucet are in the restored ledger)."""
    for name in ["master-1"] + [f"provider-{i + 1}" for i in range(2)]:
        src = os.path.join(old.dir, "cloud", name)
        dst = os.path.join(new_dir, "cloud", name)
        os.makedirs(dst, mode=0o700, exist_ok=True)
        for key in ("master.key", "provider.key"):
            if os.path.exists(os.path.join(src, key)):
                shutil.copy2(os.path.join(src, key), os.path.join(dst, key))


new = Cloud(providers=2, masters=3, restart=True, dev_args=["--restore", FILE],
            prepare=reuse_keys)
try:
    r = new.wait_voters(3)
    check(sum(m["role"] == "voter" for m in r["masters"]) == 3 and r["applied_index"] > at,
          f"the new cluster has three voters, at index {r['applied_index']} > {at}")
    old_ids = {str(m[0]) for m in rows(FILE, "SELECT id FROM masters")}
    check(not old_ids & {str(m["id"]) for m in r["masters"]},
          "the new cluster's masters are new servers (new raft ids)")

    # Each master's own state, read through its own backup.
    per = {}
    for k, api in enumerate(new.apis):
        r2, inf = backup(new, os.path.join(work, f"m{k + 1}.db"), api=api)
        check(r2.returncode == 0, f"master-{k + 1}: backup ({r2.stderr.strip()})")
        per[api] = inf
        p = os.path.join(work, f"m{k + 1}.db")
        for t, q in TABLES.items():
            have = set(rows(p, q))
            missing = [x for x in want[t] if x not in have]
            check(not missing, f"master-{k + 1}: every {t} row of the backup is there, "
                               f"unchanged ({len(want[t])} rows, {len(missing)} missing)")
        reg = {str(x[0]) for x in rows(p, "SELECT id FROM masters")}
        check(not reg & old_ids, f"master-{k + 1}: the old cluster's masters are "
                                 f"forgotten by the registry ({len(reg)} rows)")
        st, jl = new.http("GET", "/v1/jobs?limit=100000", api=api,
                          headers={"X-DC-Min-Index": str(at)})
        check(st == 200 and set(jobs) <= {j["id"] for j in jl["jobs"]},
              f"master-{k + 1} serves the restored jobs")

    # Equal hashes: the three at one applied index (retry while the log moves).
    same = False
    for _ in range(30):
        infos = []
        for k, api in enumerate(new.apis):
            r2, inf = backup(new, os.path.join(work, f"h{k + 1}.db"), api=api)
            infos.append(inf)
        if all(infos) and len({i["applied_index"] for i in infos}) == 1:
            same = len({i["state_hash"] for i in infos}) == 1
            print(f"at index {infos[0]['applied_index']}: hashes "
                  f"{[i['state_hash'][:12] for i in infos]}")
            break
        time.sleep(0.5)
    check(same, "the three masters' state hashes are equal at one applied index")

    for k in range(3):
        r2 = new.cli("ledger", "verify", "--from-genesis", "--data",
                      os.path.join(new.dir, "cloud", f"master-{k + 1}"), check_rc=False)
        check(r2.returncode == 0, f"master-{k + 1}: ledger verify --from-genesis "
                                  f"({r2.stdout.strip()} {r2.stderr.strip()})")

    # Writes go on: a transfer and a job, present on every master.
    r2 = wallet(new, 0, "transfer", ids[2], "2")
    check(r2.returncode == 0, f"a transfer after the restore ({r2.stderr.strip()})")
    rc, j = new.submit(SPEC, wait=True)
    check(rc == 0 and j and j.get("state") == "succeeded",
          f"a job after the restore succeeded ({j and j.get('state')})")
    top = new.cli_json("master", "list")["applied_index"]
    for k, api in enumerate(new.apis):
        st, jj = new.http("GET", f"/v1/jobs/{j['id']}", api=api,
                          headers={"X-DC-Min-Index": str(top)})
        st2, acct = new.http("GET", f"/v1/accounts/{ids[0]}", api=api,
                             headers={"X-DC-Min-Index": str(top)})
        check(st == 200 and st2 == 200 and acct["nonce"] >= 2,
              f"master-{k + 1} holds the new job and transfer")
finally:
    new.stop()


# ---- a single local master from the same backup, and the refusals ----
def run_master(data, restore=None, wait_ready=False, port=None):
    args = [BIN, "master", "--data-dir", data, "--api-addr", f"127.0.0.1:{port or free_port()}",
            "--listen", "127.0.0.1:0"]
    if restore:
        args += ["--restore", restore]
    log = open(os.path.join(work, "local.log"), "w")  # this run's output only
    p = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT)
    if not wait_ready:
        try:
            p.wait(timeout=60)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
        return p, None
    return p, log


def last_log():
    """The refusal (or else the last line) of the last run."""
    with open(os.path.join(work, "local.log")) as f:
        lines = f.read().strip().splitlines()
    found = [ln for ln in lines if "refusing" in ln]
    return (found or lines or [""])[-1][:300]


local = os.path.join(work, "local")
port = free_port()
p, _ = run_master(local, FILE, wait_ready=True, port=port)
api = f"http://127.0.0.1:{port}"
h = None
for _ in range(100):
    try:
        import urllib.request
        with urllib.request.urlopen(api + "/v1/health", timeout=2) as resp:
            h = json.loads(resp.read())
        break
    except OSError:
        time.sleep(0.1)
check(h is not None and h.get("leader"), "a single local master starts from the backup")
with urllib.request.urlopen(api + "/v1/jobs?limit=100000", timeout=10) as resp:
    lj = {j["id"] for j in json.loads(resp.read())["jobs"]}
check(set(jobs) <= lj, "it serves every job of the backup")
env = dict(os.environ, DEEPCLOUD_API=api, DEEPCLOUD_HOME=os.path.join(work, "home"))
spec = os.path.join(work, "spec.json")
with open(spec, "w") as f:
    json.dump(SPEC, f)
r = subprocess.run([BIN, "job", "run", spec, "--json"], env=env, capture_output=True,
                   text=True, timeout=60)
check(r.returncode == 0 and json.loads(r.stdout)["index"] > at,
      f"it accepts writes after the backup's index ({r.stdout.strip()[:80]})")
# Its backups: without a cluster token, only a request signed with the
# master's own key is served.
lb = os.path.join(work, "local-backup.db")
r = subprocess.run([BIN, "master", "backup", lb], env=env, capture_output=True, text=True,
                   timeout=60)
check(r.returncode != 0 and "FORBIDDEN" in r.stderr and not os.path.exists(lb),
      f"a local master refuses a backup signed by another key ({r.stderr.strip()[:90]})")
r = subprocess.run([BIN, "master", "backup", lb, "--key", os.path.join(local, "master.key"),
                    "--json"], env=env, capture_output=True, text=True, timeout=60)
check(r.returncode == 0 and json.loads(r.stdout)["applied_index"] > at,
      f"and serves one signed with its own key ({r.stderr.strip()[:90]})")
p.send_signal(signal.SIGTERM)
p.wait(timeout=30)


def state_of(data):
    db = os.path.join(data, "state.db")
    return rows(db, "SELECT value FROM meta WHERE key = 'applied_index'") if os.path.exists(db) else None


before = state_of(local)
p, _ = run_master(local, FILE)
check(p.returncode != 0 and "empty data dir" in last_log() and state_of(local) == before,
      f"restoring into a data dir that has state is refused, nothing changed ({last_log()})")

with open(FILE, "rb") as f:
    img = f.read()
bad = {
    "truncated": img[:len(img) // 2],
    "corrupt": img[:4096 * 2] + b"\x00" * 4096 * 3 + img[4096 * 5:],
    "not a database": b"hello, this is not a backup\n" * 10,
}
odd = os.path.join(work, "other.db")
db = sqlite3.connect(odd)
db.execute("CREATE TABLE t(x)")
db.execute("INSERT INTO t VALUES(1)")
db.commit()
db.close()
with open(odd, "rb") as f:
    bad["another SQLite database"] = f.read()
for what, data in bad.items():
    path = os.path.join(work, "bad.db")
    with open(path, "wb") as f:
        f.write(data)
    fresh = os.path.join(work, f"fresh-{what.replace(' ', '-')}")
    p, _ = run_master(fresh, path)
    check(p.returncode != 0 and "refusing" in last_log() and not os.path.exists(fresh),
          f"{what}: refused, nothing written ({last_log()})")
    # and the raft path too
    p = subprocess.run([BIN, "master", "--data-dir", fresh, "--api-addr", "127.0.0.1:0",
                        "--listen", "127.0.0.1:0", "--raft-addr", f"127.0.0.1:{free_port()}",
                        "--bootstrap", "--restore", path], capture_output=True, text=True,
                       timeout=60)
    check(p.returncode != 0 and "refusing" in p.stderr and not os.path.exists(fresh),
          f"{what}: refused by a raft bootstrap too")

if not (FAILED := __import__("harness").FAILED):
    shutil.rmtree(work, ignore_errors=True)
    shutil.rmtree(WDIR, ignore_errors=True)
    shutil.rmtree(old.dir, ignore_errors=True)
finish()
