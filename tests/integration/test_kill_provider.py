# SPDX-License-Identifier: Apache-2.0
"""kill -9 of one provider mid-run: every task still ends succeeded, and
each task's result was accepted exactly once."""
import time

from harness import Cloud, check, finish

# No restart: the dead provider stays dead, so the master must notice the
# silence and move its tasks to the other two.
cloud = Cloud(providers=3, hb_timeout_ms=2000, restart=False)
try:
    spec = {"name": "sleepy", "tasks": [{
        "name": "nap", "count": 30,
        "command": ["sh", "-c", "sleep 2; echo $DC_TASK_INDEX > out.txt"],
        "outputs": ["out.txt"], "resources": {"cpu": 0.2, "memory_mb": 64}}]}
    rc, j = cloud.submit(spec)
    check(rc == 0, "job accepted")
    # Wait until provider-1 is running something, then kill it.
    victim = None
    deadline = time.time() + 30
    while time.time() < deadline and not victim:
        st, nodes = cloud.get("/v1/nodes")
        for n in nodes["nodes"]:
            if n["name"] == "provider-1" and n["tasks_active"] > 0:
                victim = n
        time.sleep(0.1)
    check(victim is not None, "provider-1 got work")
    cloud.kill9("provider-1")
    f = cloud.wait_job(j["id"], timeout=300)
    check(f["state"] == "succeeded", f"job succeeded after the kill ({f['task_states']})")
    tasks = cloud.tasks(j["id"])
    check(all(t["state"] == "succeeded" for t in tasks), "all 30 tasks succeeded")
    lost = [t for t in tasks if t["lost"] > 0]
    check(len(lost) > 0, f"{len(lost)} task(s) were lost with the provider and rerun")
    once = True
    for t in tasks:
        st, full = cloud.get(f"/v1/tasks/{t['id']}")
        ok = [e for e in full["events"] if e["state"] == "succeeded"]
        once = once and len(ok) == 1
        st, o = cloud.get(f"/v1/tasks/{t['id']}/outputs")
        once = once and o["outputs"][0]["content"] == f"{t['index']}\n"
    check(once, "each task has exactly one accepted result, with the right output")
    st, nodes = cloud.get("/v1/nodes")
    dead = [n for n in nodes["nodes"] if n["name"] == "provider-1"]
    check(dead and dead[0]["state"] == "dead", "provider-1 was declared dead")
    check(all(t["node"] != victim["id"] for t in lost), "lost tasks finished elsewhere")

    # A hung agent (SIGSTOP) keeps its TCP session open but goes silent:
    # the heartbeat timeout still declares it dead. When it resumes it
    # reconnects, registers again and is alive.
    import os
    import signal
    pid2 = cloud.pid("provider-2")
    os.kill(pid2, signal.SIGSTOP)
    deadline = time.time() + 15
    state2 = None
    while time.time() < deadline:
        st, nodes = cloud.get("/v1/nodes")
        state2 = [n for n in nodes["nodes"] if n["name"] == "provider-2"][0]
        if state2["state"] == "dead":
            break
        time.sleep(0.2)
    check(state2["state"] == "dead", "a silent (stopped) provider is declared dead")
    os.kill(pid2, signal.SIGCONT)
    deadline = time.time() + 15
    while time.time() < deadline:
        st, nodes = cloud.get("/v1/nodes")
        state2 = [n for n in nodes["nodes"] if n["name"] == "provider-2"][0]
        if state2["state"] == "alive" and state2["connected"]:
            break
        time.sleep(0.2)
    check(state2["state"] == "alive" and state2["deaths"] == 1,
          "it comes back alive after resuming (deaths=1)")
    rc, j2 = cloud.submit({"name": "after", "tasks": [{"name": "t", "count": 6,
                            "command": ["true"], "resources": {"cpu": 1}}]}, wait=True)
    check(rc == 0, "new work runs after the recovery")
finally:
    cloud.stop()
finish()
