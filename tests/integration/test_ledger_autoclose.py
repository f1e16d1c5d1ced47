# SPDX-License-Identifier: Apache-2.0
"""The payee closes its channels itself, on real processes. A user opens a
PayWord channel to a provider and pays ticks; then
 1. the ticks stop: after the idle time the provider closes by itself with
    the highest tick it holds, is paid exactly that many ticks and the payer
    gets the rest back;
 2. the same across a kill -9 of the provider right after it persisted its
    highest tick: restarted by the dev supervisor, it closes by itself;
 3. the ticks keep coming but the payer's reclaim height approaches (blocks
    advance with other traffic): the provider closes before it, with the
    highest tick it held at that moment, and the payer can no longer
    reclaim.
`ledger verify --from-genesis` passes at the end."""
import json
import os
import subprocess
import threading
import time

from harness import BIN, Cloud, check, finish

IDLE_S = 3
TICK = 1000  # micro-DEEP (0.001 DEEP)

cloud = Cloud(providers=1, restart=True,
              extra_env={"DEEPCLOUD_CHANNEL_IDLE_S": str(IDLE_S),
                         "DEEPCLOUD_CHANNEL_CLOSE_MARGIN": "5"})


def balance(acct):
    st, a = cloud.get(f"/v1/accounts/{acct}")
    return a["balance"]


def me():
    return cloud.cli_json("wallet", "show")


def tick_file(ch):
    return os.path.join(pdir, "channels", f"{ch}.tick")


def persisted(ch, want, timeout=10):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with open(tick_file(ch)) as f:
                if int(f.read().split()[0]) == want:
                    return True
        except (OSError, ValueError, IndexError):
            pass
        time.sleep(0.05)
    return False


def closed_tx(ch, timeout=30):
    """The provider's close of ch (its ledger entry), once applied."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        st, h = cloud.get(f"/v1/accounts/{prov}/history?limit=1000")
        for e in h["history"]:
            if e["kind"] == "channel_close" and e["account"] == prov and e["ref"] == ch:
                return e
        time.sleep(0.2)
    return None


def open_channel(length, timeout_blocks=None):
    args = ["wallet", "channel", "open", prov, "0.001", str(length)]
    if timeout_blocks:
        args += ["--timeout-blocks", str(timeout_blocks)]
    return cloud.cli_json(*args)["hash"]


try:
    st, nodes = cloud.get("/v1/nodes")
    prov = nodes["nodes"][0]["id"]
    pdir = os.path.join(cloud.dir, "cloud", "provider-1")
    cloud.cli("wallet", "faucet", "100")

    # 1. The ticks stop: the provider closes by itself after IDLE_S.
    p0, m0 = balance(prov), me()["balance"]
    ch = open_channel(5000, 1000)
    cloud.cli_json("wallet", "channel", "pay", ch, "1200")
    check(persisted(ch, 1200), "the provider holds tick 1200")
    t0 = time.time()
    e = closed_tx(ch)
    waited = time.time() - t0
    check(e is not None, f"the provider closed the idle channel itself ({waited:.1f} s)")
    check(waited >= IDLE_S - 1, f"not before the idle time ({waited:.1f} s >= {IDLE_S - 1})")
    check(balance(prov) - p0 == 1200 * TICK,
          f"the provider is paid exactly its 1200 ticks ({balance(prov) - p0})")
    check(me()["balance"] == m0 - 1200 * TICK,
          f"the payer got the other 3800 back ({m0 - me()['balance']} spent)")
    time.sleep(2)
    check(os.path.exists(os.path.join(pdir, "channels", f"{ch}.closed"))
          and not os.path.exists(tick_file(ch)), "the provider set the channel aside")

    # 2. Across kill -9 of the provider, once it holds tick 700.
    p0, m0 = balance(prov), me()["balance"]
    ch2 = open_channel(3000, 1000)
    cloud.cli_json("wallet", "channel", "pay", ch2, "700")
    check(persisted(ch2, 700), "the provider holds tick 700")
    old = cloud.pid("provider-1")
    cloud.kill9("provider-1")
    deadline = time.time() + 60
    while time.time() < deadline and cloud.pid("provider-1") == old:
        time.sleep(0.1)
    check(cloud.pid("provider-1") != old, "the provider was restarted")
    e = closed_tx(ch2, timeout=60)
    check(e is not None, "after its restart the provider closed the channel itself")
    check(balance(prov) - p0 == 700 * TICK,
          f"paid exactly the 700 ticks it held ({balance(prov) - p0})")
    check(me()["balance"] == m0 - 700 * TICK,
          f"the payer got the other 2300 back ({m0 - me()['balance']} spent)")

    # 3. Ticks keep coming, but the reclaim height approaches: blocks advance
    # with other traffic (a second wallet's transfers), the provider closes
    # before the payer may reclaim.
    p0, m0 = balance(prov), me()["balance"]
    ch3 = open_channel(20000, 10)
    stop = threading.Event()
    sent = [0]
    other = dict(cloud.env, DEEPCLOUD_HOME=os.path.join(cloud.dir, "other"))
    subprocess.run([BIN, "wallet", "faucet", "10"], env=other, capture_output=True,
                   timeout=60)

    def pay():
        while not stop.is_set():
            r = subprocess.run([BIN, "wallet", "channel", "pay", ch3, "50"],
                               env=cloud.env, capture_output=True, text=True, timeout=60)
            if r.returncode == 0:
                sent[0] += 50
            time.sleep(0.3)

    def traffic():
        while not stop.is_set():
            subprocess.run([BIN, "wallet", "transfer", prov, "0.000001"], env=other,
                           capture_output=True, timeout=60)
            time.sleep(0.2)

    threads = [threading.Thread(target=pay), threading.Thread(target=traffic)]
    for t in threads:
        t.start()
    e = closed_tx(ch3, timeout=90)
    stop.set()
    for t in threads:
        t.join()
    check(e is not None, f"the provider closed before the reclaim height while still paid "
          f"({sent[0]} ticks sent)")
    st, led = cloud.get("/v1/ledger")
    st, opened = cloud.get(f"/v1/tx/{ch3}")
    check(e is not None and e["block"] < opened["block"] + 10,
          f"in block {e and e['block']}, before the reclaim height {opened['block'] + 10}")
    st, h = cloud.get(f"/v1/accounts/{prov}/history?limit=1000")
    gifts = sum(x["amount"] for x in h["history"]
                if x["kind"] == "transfer" and x["peer"] == prov and x["index"] > opened["index"])
    ticks = e["amount"] // TICK
    check(e["amount"] % TICK == 0 and 0 < ticks <= sent[0],
          f"it claimed a whole number of the ticks it held ({ticks} of {sent[0]} sent)")
    check(balance(prov) - p0 == e["amount"] + gifts,
          f"the provider is paid exactly those ticks ({balance(prov) - p0 - gifts})")
    check(me()["balance"] == m0 - e["amount"],
          f"the payer got the rest back ({m0 - me()['balance']} == {e['amount']})")
    logs = ""
    for root, _, files in os.walk(os.path.join(cloud.dir, "cloud")):
        for fn in files:
            if fn.startswith("provider-1") and fn.endswith(".log"):
                with open(os.path.join(root, fn), errors="replace") as f:
                    logs += f.read()
    check(f"channel={ch3[:16]} closing" in logs and
          any("reason=timeout" in line for line in logs.splitlines() if ch3[:16] in line),
          "the provider's log says it closed for the reclaim height, not idleness")
    check(any("reason=idle" in line for line in logs.splitlines() if ch[:16] in line),
          "and the first channel for idleness")
    r = cloud.cli("wallet", "channel", "reclaim", ch3, check_rc=False)
    check(r.returncode != 0, "the payer can no longer reclaim the closed channel")

    time.sleep(1.5)
    r = subprocess.run([BIN, "ledger", "verify", "--from-genesis", "--data",
                        os.path.join(cloud.dir, "cloud", "master")],
                       capture_output=True, text=True, timeout=300)
    check(r.returncode == 0, f"ledger verify --from-genesis passes ({r.stdout.strip()})")
finally:
    cloud.stop()
finish()
