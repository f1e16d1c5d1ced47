# SPDX-License-Identifier: Apache-2.0
"""PayWord channels on a real dev cloud: a user opens a channel to a
provider, pays ticks through the master (relayed on the provider's session,
not stored), the provider checks each and persists the highest, refuses a
forged one, and closes with its highest tick: paid exactly that many ticks,
the rest back to the payer."""
import json
import os
import time

from harness import Cloud, check, finish

cloud = Cloud(providers=1, restart=False)
try:
    st, nodes = cloud.get("/v1/nodes")
    prov = nodes["nodes"][0]["id"]
    pdir = os.path.join(cloud.dir, "cloud", "provider-1")
    cloud.cli("wallet", "faucet", "10")
    st, before = cloud.get(f"/v1/accounts/{prov}")
    r = cloud.cli_json("wallet", "channel", "open", prov, "0.001", "5000")
    ch = r["hash"]
    me = cloud.cli_json("wallet", "show")
    check(me["balance"] == 5_000_000, f"the 5 DEEP deposit left the balance ({me['balance']})")

    tick = os.path.join(pdir, "channels", f"{ch}.tick")

    def highest():
        for _ in range(50):
            if os.path.exists(tick):
                with open(tick) as f:
                    return int(f.read().split()[0])
            time.sleep(0.1)
        return 0

    r = cloud.cli_json("wallet", "channel", "pay", ch, "3000")
    time.sleep(0.5)
    check(highest() == 3000, f"the provider verified and persisted tick 3000 ({highest()})")
    cloud.cli("wallet", "channel", "pay", ch, "1000")
    time.sleep(0.5)
    check(highest() == 4000, f"then tick 4000 ({highest()})")
    st, b = cloud.http("POST", f"/v1/channels/{ch}/ticks",
                       json.dumps({"from": 4001, "words": ["00" * 32]}))
    time.sleep(0.5)
    check(st == 202 and highest() == 4000,
          f"a forged tick is relayed but refused by the provider ({st}, {highest()})")
    st, t = cloud.get(f"/v1/tx/{ch}")
    st2, blk = cloud.get("/v1/ledger")
    r = cloud.cli("wallet", "channel", "close", ch, "--provider-dir", pdir, check_rc=False)
    check(r.returncode == 0, f"the provider closes with its highest tick ({r.stderr.strip()})")
    st, after = cloud.get(f"/v1/accounts/{prov}")
    check(after["balance"] - before["balance"] == 4000 * 1000,
          f"the provider is paid exactly 4000 ticks ({after['balance'] - before['balance']})")
    me = cloud.cli_json("wallet", "show")
    check(me["balance"] == 10_000_000 - 4_000_000, f"the rest came back ({me['balance']})")
    st, b = cloud.http("POST", f"/v1/channels/{ch}/ticks",
                       json.dumps({"from": 4001, "words": ["00" * 32]}))
    check(st == 409, f"ticks for a closed channel are refused ({st})")
    r = cloud.cli("ledger", "verify", "--from-genesis", "--data",
                  os.path.join(cloud.dir, "cloud", "master"), check_rc=False)
    check(r.returncode == 0, f"ledger verify passes ({r.stdout.strip()})")
finally:
    cloud.stop()
finish()
