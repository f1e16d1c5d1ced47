# SPDX-License-Identifier: Apache-2.0
"""Service clusters on real processes: providers declare a role; the leader
groups them by k-means and moves the dynamic ones toward the class whose
forecast demand exceeds its capacity, before the next burst of that class
arrives; fixed providers never move; the log replays to the same state."""
import os
import sqlite3
import time

from harness import Cloud, check, finish

BUCKET_S, SEASON = 4, 4          # a 16 s cycle, so the test can see several
CYCLES = 5


def burst(cls):
    return {"name": f"burst-{cls}", "constraints": {"service_class": cls},
            "tasks": [{"name": "t", "count": 6, "command": ["sleep", "2"],
                       "resources": {"cpu": 1, "memory_mb": 128}}]}

cloud = Cloud(providers=4,
              dev_args=["--provider-classes", "compute;streaming;compute,streaming",
                        "--dynamic", "2"],
              extra_env={"DEEPCLOUD_CLUSTER_INTERVAL_MS": "1000",
                         "DEEPCLOUD_FORECAST_BUCKET_S": str(BUCKET_S),
                         "DEEPCLOUD_FORECAST_SEASON": str(SEASON)})


def state():
    path = os.path.join(cloud.dir, "cloud", "master", "state.db")
    return sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)


def nodes():
    return {n["name"]: n for n in cloud.get("/v1/nodes")[1]["nodes"]}


try:
    ns = nodes()
    dyn = {n for n, v in ns.items() if v["role"] == "dynamic"}
    fixed = {n for n, v in ns.items() if v["role"] == "fixed"}
    check(dyn == {"provider-3", "provider-4"} and len(fixed) == 2,
          f"providers registered with their roles ({sorted(dyn)} dynamic)")
    check(all(ns[n]["cluster"] == "compute" for n in dyn),
          "a dynamic provider starts in its first declared class")
    check(ns["provider-1"]["cluster"] == "compute" and ns["provider-2"]["cluster"] == "streaming",
          "a fixed provider serves the classes it declares")

    deadline = time.time() + 20
    while time.time() < deadline and any(v["group"] is None for v in nodes().values()):
        time.sleep(0.5)
    ns = nodes()
    check(all(v["group"] is not None for v in ns.values()),
          f"k-means gave every provider a similarity group ({[v['group'] for v in ns.values()]})")
    txt = cloud.cli("node", "list").stdout
    check("CLUSTER" in txt and "dynamic" in txt and "GROUP" in txt,
          "node list shows role, cluster and group")

    # Bursts that alternate, at the same phase of every cycle: streaming at
    # the start of a cycle, compute half a cycle later. Each needs 6 cores,
    # its fixed provider and both dynamic ones, so the dynamic providers must
    # be where the next burst goes before it arrives.
    cycle = BUCKET_S * SEASON
    t0 = (int(time.time()) // cycle + 1) * cycle + 0.3
    subs = []                     # (class, job id), in submit order
    for k in range(CYCLES):
        for cls, at in (("streaming", 0), ("compute", cycle // 2)):
            while time.time() < t0 + k * cycle + at:
                time.sleep(0.05)
            rc, j = cloud.submit(burst(cls))
            check(rc == 0, f"cycle {k + 1}: {cls} burst submitted")
            subs.append((cls, j["id"]))
    for _, jid in subs:
        j = cloud.wait_job(jid, timeout=120)
        check(j["state"] == "succeeded", f"burst job {jid[:8]} succeeded")

    db = state()
    index = {jid: db.execute("SELECT log_index FROM jobs WHERE id=?", (jid,)).fetchone()[0]
             for _, jid in subs}
    moves = db.execute("SELECT idx, n.name, from_cluster, to_cluster, reason FROM cluster_moves m"
                       " JOIN nodes n ON n.id = m.node_id ORDER BY idx").fetchall()
    check(moves and all(r[1] in dyn for r in moves),
          f"only dynamic providers were moved ({len(moves)} moves)")
    check(all(r[4].startswith("forecast: ") for r in moves),
          f"each move says why: {moves[0][4] if moves else '-'}")
    # Ahead of demand: between the previous burst (of the other class) and
    # this one's first submit, with nothing of this class queued yet, a
    # move toward this class made on the forecast alone.
    ahead = []
    for i in range(1, len(subs)):
        cls, jid = subs[i]
        lo, hi = index[subs[i - 1][1]], index[jid]
        ahead += [(cls, r[0], hi) for r in moves
                  if r[3] == cls and lo < r[0] < hi and ", 0.0 queued)" in r[4]]
    check(any(c == "streaming" for c, _, _ in ahead) and any(c == "compute" for c, _, _ in ahead),
          f"dynamic providers were moved on the forecast before the next burst of each class "
          f"arrived: {[(c, f'move {i} < submit {h}') for c, i, h in ahead]}")
    check(any("holt-winters" in r[4] for r in moves),
          "once two cycles are known the forecasts are Holt-Winters")
    on_dyn = db.execute(
        "SELECT COUNT(*) FROM tasks t JOIN nodes n ON n.id = t.node_id WHERE n.role = 'dynamic'"
    ).fetchone()[0]
    check(on_dyn > 0, f"the moved providers ran burst tasks ({on_dyn})")
    for n in fixed:
        cl = db.execute("SELECT cluster, classes FROM nodes WHERE name=?", (n,)).fetchone()
        check(cl[0] == cl[1], f"fixed {n} still serves exactly its classes ({cl[0]})")
    db.close()

    c = cloud.cli_json("cluster", "list")
    by = {x["class"]: x for x in c["clusters"]}
    check(set(by) >= {"compute", "streaming"} and c["leader"] and c["runs"] > 0,
          f"cluster list shows the classes ({sorted(by)}), {c['runs']} passes")
    s = by["streaming"]
    check(s["forecast"]["method"] in ("holt-winters", "recent mean")
          and s["forecast"]["history_buckets"] >= 2 * SEASON,
          f"streaming forecast by {s['forecast']['method']} over "
          f"{s['forecast']['history_buckets']} buckets")
    check(s["mase_forecasts"] > 0 and (s["mase"] is not None or "mase_reason" in s),
          f"MASE so far over {s['mase_forecasts']} forecasts: {s['mase']}")
    check(s["moves"] and s["moves"][0]["reason"].startswith("forecast: "),
          "the last moves are listed with their reason")
    txt = cloud.cli("cluster", "list").stdout
    check("streaming" in txt and "recent moves" in txt, "readable cluster list")
finally:
    cloud.stop(keep=True)

# The log replays to the same state, cluster moves included.
r = cloud.cli("ledger", "verify", "--from-genesis", "--data",
              os.path.join(cloud.dir, "cloud", "master"), check_rc=False)
check(r.returncode == 0, f"replay from the genesis gives the same state ({r.stdout.strip()})")
cloud.stop()  # removes the folder unless something failed
finish()
