# SPDX-License-Identifier: Apache-2.0
"""Jobs pay on a real dev cloud: a job's budget is locked at submit (a job
the account cannot cover is refused), each task is reserved, settled from
its metered usage and paid to its provider, the rest refunded; `job bill`
matches the ledger line by line and the provider's earnings."""
import json
import os
import stat
import subprocess

from harness import BIN

from harness import Cloud, check, finish

cloud = Cloud(providers=2, restart=False)
try:
    r = cloud.cli("wallet", "faucet", "10")
    me = cloud.cli_json("wallet", "show")
    check(me["balance"] == 10_000_000, f"funded 10 DEEP ({me['balance']})")
    spec = {"name": "paid", "budget": 20_000_000, "tasks": [{
        "name": "t", "count": 4, "command": ["sh", "-c", "i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done"],
        "resources": {"cpu": 1, "memory_mb": 64}, "timeout_s": 60}]}
    rc, j = cloud.submit(spec)
    check(rc != 0, "a budget above the balance is refused")
    spec["budget"] = 5_000_000
    rc, j = cloud.submit(spec)
    check(rc == 0, "a covered budget is accepted")
    f = cloud.wait_job(j["id"], timeout=300)
    check(f["state"] == "succeeded", f"the paid job succeeded ({f['state']})")
    bill = cloud.cli_json("job", "bill", j["id"])
    kinds = [l["kind"] for l in bill["lines"]]
    check(kinds[0] == "escrow_lock" and kinds[-1] == "refund",
          f"the bill opens with the lock and ends with the refund ({kinds})")
    settles = [l for l in bill["lines"] if l["kind"] == "settle"]
    check(len(settles) == 4, f"one settlement per task ({len(settles)})")
    paid = sum(l["amount"] for l in settles)
    refund = [l for l in bill["lines"] if l["kind"] == "refund"][0]["amount"]
    check(paid == bill["paid"] and paid + refund == bill["budget"],
          f"paid {paid} + refunded {refund} == budget {bill['budget']}")
    reserves = {l["ref"]: l["amount"] for l in bill["lines"] if l["kind"] == "reserve"}
    check(all(l["amount"] <= reserves[l["ref"]] for l in settles),
          "no task is paid more than its reservation")
    me2 = cloud.cli_json("wallet", "show")
    check(me2["balance"] == 10_000_000 - paid and me2["locked"] == 0,
          f"the user spent exactly the bill ({me2['balance']})")
    earned = {}
    for l in settles:
        earned[l["peer"]] = earned.get(l["peer"], 0) + l["amount"]
    for node, amt in earned.items():
        st, h = cloud.get(f"/v1/accounts/{node}/history")
        got = sum(x["amount"] for x in h["history"]
                  if x["kind"] == "settle" and x["peer"] == node and x["ref"].startswith(j["id"]))
        check(got == amt, f"provider {node[:8]} earnings match the bill ({got})")
    # POST /v1/tx edge cases: a replayed transaction, a forged one, garbage.
    r = cloud.cli("wallet", "transfer", earned and list(earned)[0], "0.5", "--json")
    h = json.loads(r.stdout)["hash"]
    st, t = cloud.get(f"/v1/tx/{h}")
    raw = bytes.fromhex(t["data"])[21 + 4:]  # command header, blob length
    st, b = cloud.http("POST", "/v1/tx", json.dumps({"tx": raw.hex()}))
    check(st == 409 and "nonce" in b["error"]["message"],
          f"a replayed transaction is refused: nonce ({st})")
    forged = bytearray(raw)
    forged[2 + 32 + 8 + 32 + 32 + 7] ^= 0x40  # the amount
    before = cloud.cli_json("wallet", "show")
    st, b = cloud.http("POST", "/v1/tx", json.dumps({"tx": forged.hex()}))
    check(st == 401 and b["error"]["code"] == "BADSIG",
          f"an altered transaction fails its signature check ({st})")
    st, b = cloud.http("POST", "/v1/tx", json.dumps({"tx": "zz"}))
    check(st == 400, f"garbage is a 400 ({st})")
    st, b = cloud.http("POST", "/v1/tx", b"{")
    check(st == 400, f"a malformed body is a 400 ({st})")
    check(cloud.cli_json("wallet", "show") == before, "refused transactions changed nothing")
    # A sealed wallet: 0600, unusable without its passphrase.
    home = os.path.join(cloud.dir, "sealed")
    pf = os.path.join(cloud.dir, "pass.txt")
    with open(pf, "w") as f:
        f.write("correct horse\n")
    env = dict(cloud.env, DEEPCLOUD_HOME=home)
    def w(*a, **kw):
        return subprocess.run([BIN, "wallet", *a], env=dict(env, **kw), capture_output=True,
                              text=True, timeout=60)
    r = w("new", "--passphrase-file", pf)
    key = os.path.join(home, "wallet.key")
    check(r.returncode == 0 and stat.S_IMODE(os.stat(key).st_mode) == 0o600,
          f"wallet new --passphrase-file writes a 0600 sealed key ({r.stderr.strip()})")
    with open(key) as f:
        check("sealed" in json.load(f), "the secret key is stored sealed")
    check(w("new", "--passphrase-file", pf).returncode != 0, "a wallet is never overwritten")
    check(w("balance").returncode != 0, "a sealed wallet needs its passphrase")
    check(w("balance", DEEPCLOUD_PASSPHRASE="wrong").returncode != 0, "a wrong passphrase is refused")
    r = w("faucet", "2", "--passphrase-file", pf)
    r2 = w("balance", "--json", "--passphrase-file", pf)
    check(r.returncode == 0 and json.loads(r2.stdout)["balance"] == 2_000_000,
          "the sealed wallet works with its passphrase")
    mdir = f"{cloud.dir}/cloud/master"
    r = cloud.cli("ledger", "verify", "--from-genesis", "--data", mdir, check_rc=False)
    check(r.returncode == 0, f"ledger verify passes ({r.stdout.strip()})")
finally:
    cloud.stop()
finish()
