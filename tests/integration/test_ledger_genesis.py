# SPDX-License-Identifier: Apache-2.0
"""A real (non-dev) ledger from a genesis file: the master proposes it as the
first ledger command, the accounts and parameters are what the file says;
a bad genesis file stops the master with a clear reason and creates
nothing."""
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.request

from harness import BIN, check, finish, free_port

tmp = tempfile.mkdtemp(prefix="dc-genesis-")
A = "11" * 32
B = "22" * 32
GOOD = {"chain_id": "deepcloud-test",
        "params": {"unbonding_blocks": 7, "min_stake": 500, "block_max": 100,
                   "channel_len_max": 1000, "channel_timeout_min": 5},
        "allocations": [{"account": A, "amount": 5000000},
                        {"account": B, "amount": 2000, "stake": 1000}]}


def master(genesis, name):
    path = os.path.join(tmp, f"{name}.json")
    with open(path, "w") as f:
        f.write(genesis if isinstance(genesis, str) else json.dumps(genesis))
    port = free_port()
    p = subprocess.Popen([BIN, "master", "--data-dir", os.path.join(tmp, name),
                          "--api-addr", f"127.0.0.1:{port}", "--listen", "127.0.0.1:0",
                          "--genesis", path],
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    return p, f"http://127.0.0.1:{port}"


def get(api, path):
    with urllib.request.urlopen(api + path, timeout=5) as r:
        return json.loads(r.read())


try:
    p, api = master(GOOD, "good")
    led = None
    deadline = time.time() + 30
    while time.time() < deadline and led is None:
        try:
            led = get(api, "/v1/ledger")
            if led.get("chain_id") != "deepcloud-test":
                led = None
        except Exception:
            pass
        time.sleep(0.2)
    check(led is not None, "the genesis was proposed and applied")
    if led:
        check(led.get("supply") == 5003000,
              f"supply is every amount and stake allocated ({led.get('supply')})")
        a, b = get(api, f"/v1/accounts/{A}"), get(api, f"/v1/accounts/{B}")
        check(a["balance"] == 5000000 and a["staked"] == 0, "account A as allocated")
        check(b["staked"] == 1000 and b["balance"] == 2000,
              f"account B staked from the start ({b['balance']} + {b['staked']})")
    p.send_signal(signal.SIGTERM)
    p.wait(timeout=20)

    bad = [
        (dict(GOOD, colour=1), "colour"),
        ({**GOOD, "allocations": [{"account": "xyz", "amount": 1}]}, "account"),
        ({**GOOD, "params": {**GOOD["params"], "block_max": 0}}, "params"),
        ("{not json", "line"),
        ({**GOOD, "allocations": []}, "allocations"),
    ]
    for i, (g, needle) in enumerate(bad):
        p, _ = master(g, f"bad{i}")
        out, _ = p.communicate(timeout=30)
        check(p.returncode != 0 and needle in out,
              f"bad genesis #{i} stops the master naming '{needle}' (exit {p.returncode})")
        state = os.path.join(tmp, f"bad{i}", "state.db")
        check(not os.path.exists(state) or os.path.getsize(state) < 64 * 1024,
              f"bad genesis #{i} applied nothing")
finally:
    shutil.rmtree(tmp, ignore_errors=True)
finish()
