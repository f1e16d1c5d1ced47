# SPDX-License-Identifier: Apache-2.0
"""Gossip failure detection in the daemon, on real processes: a dev cloud
of N providers (50 by default, DC_GOSSIP_PROVIDERS to change) runs tasks;
five providers are killed with kill -9. All five must be declared dead by
gossip (the NODE_DEAD the leader proposed says so, not the heartbeat
fallback), their tasks must finish elsewhere, no live member may be
declared dead by anyone, and once dev restarts them they rejoin. Prints
detection time p50/p99 as seen by every survivor (from each member's log)
and the gossip bytes each member sent per second."""
import datetime
import glob
import json
import os
import re
import time

from harness import Cloud, check, finish

N = int(os.environ.get("DC_GOSSIP_PROVIDERS", "50"))
KILL = 5
# The default gossip timing (memberlist's LAN probes, 1 s with a 500 ms
# timeout, and our suspicion multipliers 1 and 24) unless DC_GOSSIP_FAST=1
# selects --gossip-fast (500/250 ms probes): fast timing
# made false positives under CPU load (ASan builds of 50 agents on 2
# cores), which is what this test must not accept. The detection target is
# a benchmark figure (bench/gossip/bench_gossip_daemon.py runs both).
FAST = os.environ.get("DC_GOSSIP_FAST", "0") == "1"
RESTART_DELAY_S = 45  # long enough that gossip, not a restart, answers first

TS = re.compile(r"^ts=(\S+Z) ")
EV = re.compile(r"mod=gossip member=([0-9a-f]{16}) event=(dead|left)")
STATS = re.compile(r"mod=gossip stats sent_packets=(\d+) sent_bytes=(\d+) stream_bytes=(\d+)")
# The TCP fallback pings' bytes (sealed, both directions of the
# connections a member opened or answered), logged on the same line.
TCP_BYTES = re.compile(r" tcp_ping_bytes=(\d+)")


def ts_of(line):
    m = TS.match(line)
    if not m:
        return None
    return datetime.datetime.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S.%fZ").replace(
        tzinfo=datetime.timezone.utc).timestamp()


def pct(v, p):
    v = sorted(v)
    return v[min(len(v) - 1, int(round(p / 100.0 * (len(v) - 1))))] if v else float("nan")


def member_logs(cloud):
    return sorted(glob.glob(os.path.join(cloud.dir, "cloud", "*.log")))


def rate(log, t0, t1):
    """Gossip bytes/s (datagrams, push-pull, TCP fallback pings) sent
    between t0 and t1."""
    pts = []
    with open(log, errors="replace") as f:
        for line in f:
            m = STATS.search(line)
            t = ts_of(line)
            if m and t and t0 <= t <= t1:
                tb = TCP_BYTES.search(line)
                pts.append((t, int(m.group(2)), int(m.group(3)), int(tb.group(1)) if tb else 0))
    if len(pts) < 2 or pts[-1][0] - pts[0][0] < 5:
        return None
    dt = pts[-1][0] - pts[0][0]
    return tuple((pts[-1][k] - pts[0][k]) / dt for k in (1, 2, 3))


t_start = time.time()
cloud = Cloud(providers=N, hb_timeout_ms=0, start_timeout=600,
              dev_args=["--restart-delay-ms", str(RESTART_DELAY_S * 1000)] +
              (["--gossip-fast"] if FAST else []))
try:
    print(f"# gossip timing: {'fast (500/250 ms)' if FAST else 'LAN (1 s/500 ms probes)'}",
          flush=True)
    print(f"# {N} providers live after {time.time() - t_start:.1f} s", flush=True)
    # Every member known alive to the master.
    deadline = time.time() + 120
    mem = None
    while time.time() < deadline:
        st, mem = cloud.get("/v1/members")
        if st == 200 and mem["alive"] == N + 1:
            break
        time.sleep(0.5)
    check(mem and mem["alive"] == N + 1, f"the master sees {N} providers + itself alive")
    ids = {m["name"]: m["id"] for m in mem["members"]}
    node_of = {m["name"]: m["tags"].get("node") for m in mem["members"]}
    check(all(node_of.get(f"provider-{i + 1}") for i in range(N)),
          "every provider member carries its node id tag")
    # Steady-state traffic: counters tick every 10 s; take 30 s of them
    # before any fault.
    t_steady0 = time.time()
    time.sleep(32)
    t_steady1 = time.time()

    spec = {"name": "gossip-load", "tasks": [{
        "name": "nap", "count": 2 * N,
        "command": ["sh", "-c", "sleep 40; echo $DC_TASK_INDEX > out.txt"],
        "outputs": ["out.txt"], "resources": {"cpu": 1, "memory_mb": 32}}]}
    rc, j = cloud.submit(spec)
    check(rc == 0, "job accepted")
    # Victims: five providers that are running something.
    victims = []
    deadline = time.time() + 120
    while time.time() < deadline and len(victims) < KILL:
        st, nodes = cloud.get("/v1/nodes")
        busy = [n["name"] for n in nodes["nodes"] if n["tasks_active"] > 0]
        victims = sorted(busy, key=lambda s: int(s.split("-")[1]))[:KILL]
        time.sleep(0.5)
    check(len(victims) == KILL, f"{KILL} providers with work: {victims}")
    t_kill = time.time()
    for v in victims:
        cloud.kill9(v)
    victim_ids = {ids[v] for v in victims}
    victim_nodes = {node_of[v]: v for v in victims}

    # The leader proposes NODE_DEAD for each, decided by gossip.
    deadline = time.time() + 60
    decided = {}
    while time.time() < deadline and len(decided) < KILL:
        st, nodes = cloud.get("/v1/nodes")
        for n in nodes["nodes"]:
            if n["id"] in victim_nodes and n["state"] == "dead":
                decided[n["id"]] = n.get("dead_decided_by")
        time.sleep(0.2)
    check(len(decided) == KILL, f"all {KILL} killed providers are dead in the state")
    check(all(d == "gossip" for d in decided.values()),
          f"gossip decided every death, not the heartbeat fallback ({decided})")
    master_log = os.path.join(cloud.dir, "cloud", "master.log")
    with open(master_log, errors="replace") as f:
        mlog = f.read()
    by_gossip = set(re.findall(r"node=([0-9a-f]{16}) proposing=dead by=gossip", mlog))
    check({n[:16] for n in victim_nodes} <= by_gossip,
          "the master log names gossip as the detector of each death")
    check("by=heartbeat" not in mlog, "the heartbeat fallback proposed nothing")

    # The job still succeeds: lost tasks ran again on live providers.
    f = cloud.wait_job(j["id"], timeout=600)
    check(f["state"] == "succeeded", f"job succeeded after the kills ({f['task_states']})")
    tasks = cloud.tasks(j["id"])
    lost = [t for t in tasks if t["lost"] > 0]
    check(len(lost) > 0, f"{len(lost)} task(s) were lost with the providers and rerun")
    check(all(t["node"] not in victim_nodes for t in lost), "lost tasks finished elsewhere")
    reasons_ok = True
    for t in lost:
        st, full = cloud.get(f"/v1/tasks/{t['id']}")
        ev = [e for e in full["events"] if e["state"] == "lost"]
        reasons_ok = reasons_ok and ev and all(
            (e.get("reason") or e.get("message") or "").startswith("gossip:") for e in ev)
    check(reasons_ok, "every lost event carries a NODE_DEAD reason from gossip")

    # Detection as seen by every survivor, from its own log; and no false
    # positive anywhere.
    times, missing, false_pos = [], 0, []
    per_victim = {}
    for log in member_logs(cloud):
        name = os.path.basename(log)[:-4]
        if name in victims:
            continue
        seen = {}
        with open(log, errors="replace") as fh:
            for line in fh:
                m = EV.search(line)
                if not m:
                    continue
                t = ts_of(line)
                if m.group(1) in victim_ids:
                    if t and t >= t_kill and m.group(1) not in seen:
                        seen[m.group(1)] = t - t_kill
                else:
                    false_pos.append((name, m.group(1)))
        missing += len(victim_ids - set(seen))
        times.extend(seen.values())
        for vid, d in seen.items():
            per_victim.setdefault(vid, []).append(d)
    check(missing == 0, f"every survivor learnt of all {KILL} deaths ({missing} missing)")
    check(not false_pos, f"no live member declared dead by anyone ({false_pos[:5]})")
    # Per victim: the first survivor to learn of the death and the last,
    # which tells a slow suspicion from a slow spread.
    print("# per victim (first, last survivor to know, s): " + ", ".join(
        f"{min(v):.2f}/{max(v):.2f}" for v in sorted(per_victim.values(), key=min)), flush=True)
    p50, p99 = pct(times, 50), pct(times, 99)
    print(f"# detection over {len(times)} (survivor, victim) pairs: p50 {p50:.2f} s, "
          f"p99 {p99:.2f} s, max {max(times) if times else float('nan'):.2f} s", flush=True)
    # The target (p99 <= 5.4 s, half of memberlist's 10.8 s) is a
    # figure, measured by bench/gossip/bench_gossip_daemon.py: a timed
    # assertion here would fail on a noisy machine, not on a wrong program.
    print(json.dumps({"bench": "gossip_daemon_detection", "providers": N, "killed": KILL,
                      "fast": FAST, "pairs": len(times), "p50_s": round(p50, 3),
                      "p99_s": round(p99, 3), "memberlist_p99_s": 10.8,
                      "ratio_to_memberlist": round(p99 / 10.8, 3), "target_ratio": 0.5}),
          flush=True)

    # Bytes per member per second in steady state (before the kills).
    rates = [r for r in (rate(log, t_steady0, t_steady1) for log in member_logs(cloud)) if r]
    if rates:
        dg = sorted(r[0] for r in rates)
        pp = sorted(r[1] for r in rates)
        tp = sorted(r[2] for r in rates)
        print(f"# gossip bytes/s per member over {len(rates)} members: datagrams median "
              f"{pct(dg, 50):.0f} max {dg[-1]:.0f}; push-pull median {pct(pp, 50):.0f} "
              f"max {pp[-1]:.0f}; TCP fallback pings median {pct(tp, 50):.0f} "
              f"max {tp[-1]:.0f}", flush=True)
        check(pct(dg, 50) + pct(pp, 50) + pct(tp, 50) <= 800,
              "median gossip bytes/s per member within memberlist's 800 B/s")
    else:
        check(False, "traffic counters were logged")
    # Push-pull runs every 30 s or more at this size: over the whole run
    # (faults and restarts included) for its share.
    whole = [r for r in (rate(log, t_start, time.time()) for log in member_logs(cloud)) if r]
    if whole:
        print(f"# whole run, bytes/s per member: datagrams median "
              f"{pct([r[0] for r in whole], 50):.0f}, push-pull median "
              f"{pct([r[1] for r in whole], 50):.0f}, TCP fallback pings median "
              f"{pct([r[2] for r in whole], 50):.0f}", flush=True)

    # dev restarts the killed providers: they rejoin, alive in gossip and
    # registered again.
    deadline = time.time() + RESTART_DELAY_S + 90
    back = set()
    while time.time() < deadline and len(back) < KILL:
        st, mem = cloud.get("/v1/members")
        st2, nodes = cloud.get("/v1/nodes")
        alive_m = {m["id"] for m in mem["members"] if m["state"] == "alive"}
        alive_n = {n["id"] for n in nodes["nodes"] if n["state"] == "alive" and n["connected"]}
        back = {v for v in victims if ids[v] in alive_m and node_of[v] in alive_n}
        time.sleep(1)
    check(len(back) == KILL, f"the {KILL} restarted providers rejoined ({sorted(back)})")
    st, mem = cloud.get("/v1/members")
    check(mem["alive"] == N + 1, f"{N + 1} members alive again")
finally:
    cloud.stop()
finish()
