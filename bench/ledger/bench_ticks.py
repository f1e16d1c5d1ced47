# SPDX-License-Identifier: Apache-2.0
"""Channel ticks end to end: client -> master (POST /v1/channels/{id}/ticks,
batches of 4096) -> the payee provider's session -> checked with one hash
each and the highest persisted. Timed from the first request to the moment
the provider's persisted highest tick reaches N. Printed beside the bare
tick-check rate of one core (bench_ledger --tick-rate) measured in the same
run. Target (issue 3): >= 200,000 ticks/s.
Usage: bench_ticks.py BENCH_LEDGER_BINARY  (DC_BIN names deepcloud)"""
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "tests", "integration"))
import harness  # noqa: E402

N = int(os.environ.get("BENCH_TICKS", "200000"))

base = json.loads(subprocess.run([sys.argv[1], "--tick-rate"], capture_output=True,
                                 text=True, check=True).stdout)
cloud = harness.Cloud(providers=1, restart=False)
try:
    st, nodes = cloud.get("/v1/nodes")
    prov = nodes["nodes"][0]["id"]
    tick = None
    cloud.cli("wallet", "faucet", "1000")
    ch = cloud.cli_json("wallet", "channel", "open", prov, "0.000001", str(N))["hash"]
    tick = os.path.join(cloud.dir, "cloud", "provider-1", "channels", f"{ch}.tick")
    t0 = time.time()
    r = cloud.cli_json("wallet", "channel", "pay", ch, str(N))
    sent = time.time() - t0
    hi = 0
    while time.time() - t0 < 120:
        if os.path.exists(tick):
            with open(tick) as f:
                hi = int(f.read().split()[0])
            if hi == N:
                break
        time.sleep(0.005)
    total = time.time() - t0
    # The client computes the chain too (one hash per tick, plus its seed
    # walk): its time is inside the figure, as it is for a real payer.
    print(json.dumps({"bench": "ticks", "ticks": N, "verified": hi,
                      "ticks_per_s_end_to_end": round(N / total),
                      "client_send_s": round(sent, 3),
                      "tick_checks_per_s_1core": base["tick_checks_per_s_1core"],
                      "ratio_vs_bare_check": round(N / total / base["tick_checks_per_s_1core"], 3),
                      "target_ticks_per_s": 200000}))
finally:
    cloud.stop()
