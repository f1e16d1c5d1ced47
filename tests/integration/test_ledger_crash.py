# SPDX-License-Identifier: Apache-2.0
"""The ledger across kill -9 of the master: a stream of signed transfers
from several wallets and a paid job being settled task by task, the master
killed in the middle and restarted by the dev supervisor. Every transfer acknowledged to a client is present, `ledger
verify --from-genesis` passes, and the totals still balance. Then a
double-spend race: two clients spend the same whole balance at once and
exactly one wins."""
import json
import os
import sqlite3
import subprocess
import threading
import time

from harness import BIN, Cloud, check, finish

WALLETS = 4
cloud = Cloud(providers=1, restart=True)


def wallet(i, *args, check_rc=False):
    env = dict(cloud.env, DEEPCLOUD_HOME=os.path.join(cloud.dir, f"w{i}"))
    return subprocess.run([BIN, "wallet", *args], env=env, capture_output=True,
                          text=True, timeout=60)


def account(i):
    r = wallet(i, "show", "--json")
    return json.loads(r.stdout)


try:
    ids = []
    for i in range(WALLETS):
        r = wallet(i, "faucet", "100")
        check(r.returncode == 0, f"wallet {i} funded by the faucet ({r.stderr.strip()})")
        ids.append(account(i)["id"])

    r = cloud.cli("wallet", "faucet", "10")
    spec = {"name": "paid", "budget": 3_000_000, "tasks": [{
        "name": "t", "count": 12, "command": ["sh", "-c", "sleep 0.5"],
        "resources": {"cpu": 1, "memory_mb": 64}, "timeout_s": 60}]}
    rc, job = cloud.submit(spec)
    check(rc == 0, "a paid job is accepted")

    acked, lock = [], threading.Lock()
    stop = threading.Event()

    def stream(i):
        n = 0
        while not stop.is_set():
            r = wallet(i, "transfer", ids[(i + 1) % WALLETS], "0.01", "--json")
            if r.returncode == 0:
                with lock:
                    acked.append(json.loads(r.stdout)["hash"])
            n += 1

    threads = [threading.Thread(target=stream, args=(i,)) for i in range(WALLETS)]
    for t in threads:
        t.start()
    time.sleep(3)
    before = len(acked)
    cloud.kill9("master")
    time.sleep(4)
    cloud.wait_providers(1, 60)
    time.sleep(3)
    stop.set()
    for t in threads:
        t.join()
    check(before > 0 and len(acked) > before,
          f"transfers acknowledged before ({before}) and after ({len(acked)}) the kill")
    missing = [h for h in acked if cloud.get(f"/v1/tx/{h}")[0] != 200]
    check(not missing, f"every acknowledged transfer is in the ledger ({len(acked)}, "
          f"missing {len(missing)})")

    f = cloud.wait_job(job["id"], timeout=300)
    check(f["state"] == "succeeded", f"the paid job finished across the restart ({f['state']})")
    bill = cloud.cli_json("job", "bill", job["id"])
    settles = [l for l in bill["lines"] if l["kind"] == "settle"]
    tasks = {l["ref"] for l in settles}
    releases = [l for l in bill["lines"] if l["kind"] == "release"]
    check(len(settles) == len(tasks) and len(tasks) == 12,
          f"each task paid exactly once ({len(settles)} settlements, {len(tasks)} tasks; "
          f"{len(releases)} attempts lost with the restart released unpaid)")
    check(all(l["amount"] == 0 for l in releases), "a lost attempt is not paid")
    check(bill["paid"] + bill["refunded"] == bill["budget"] and bill["state"] == "closed",
          f"paid {bill['paid']} + refunded {bill['refunded']} == budget {bill['budget']}")
    me = cloud.cli_json("wallet", "show")
    check(me["balance"] == 10_000_000 - bill["paid"] and me["locked"] == 0,
          "the job's owner paid exactly the bill")

    time.sleep(1.5)  # let a block seal the tail
    mdir = os.path.join(cloud.dir, "cloud", "master")
    r = subprocess.run([BIN, "ledger", "verify", "--from-genesis", "--data", mdir],
                       capture_output=True, text=True, timeout=300)
    check(r.returncode == 0, f"ledger verify --from-genesis passes: {r.stdout.strip()} "
          f"{r.stderr.strip()}")

    db = sqlite3.connect(f"file:{mdir}/state.db?mode=ro", uri=True)
    held = db.execute("SELECT SUM(balance + staked + unbonding + locked) FROM accounts").fetchone()[0]
    held += db.execute("SELECT COALESCE(SUM(deposit), 0) FROM channels WHERE state = 'open'").fetchone()[0]
    supply = db.execute("SELECT minted - burned FROM ledger").fetchone()[0]
    db.close()
    check(held == supply, f"totals balance: held {held} == supply {supply}")
    total = sum(account(i)["balance"] for i in range(WALLETS))
    check(total == WALLETS * 100_000_000,
          f"the wallets' balances still add up to what the faucet gave ({total})")

    # Double spend: the same whole balance, two clients at once.
    bal = account(0)["balance"]
    amount = f"{bal // 1_000_000}.{bal % 1_000_000:06d}"
    res = [None, None]

    def spend(k):
        res[k] = wallet(0, "transfer", ids[1 + k], amount)

    racers = [threading.Thread(target=spend, args=(k,)) for k in range(2)]
    for t in racers:
        t.start()
    for t in racers:
        t.join()
    wins = [r.returncode == 0 for r in res]
    check(wins.count(True) == 1, f"exactly one of two racing spends wins "
          f"({[r.stderr.strip() for r in res]})")
    check(account(0)["balance"] == 0, "the spender's balance is spent once")
finally:
    cloud.stop()
finish()
