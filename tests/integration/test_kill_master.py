# SPDX-License-Identifier: Apache-2.0
"""kill -9 of the master, then a restart (the dev supervisor restarts it):
every job and task is kept, and the work completes."""
import time

from harness import Cloud, check, finish

cloud = Cloud(providers=3, restart=True)
try:
    ids = []
    for k in range(3):
        spec = {"name": f"job{k}", "tasks": [{
            "name": "t", "count": 20,
            "command": ["sh", "-c", "sleep 1; echo $DC_TASK_INDEX > out.txt"],
            "outputs": ["out.txt"], "resources": {"cpu": 0.2, "memory_mb": 64}}]}
        rc, j = cloud.submit(spec)
        ids.append(j["id"])
    check(len(ids) == 3, "three jobs accepted")
    time.sleep(1.5)
    before = cloud.health()["applied_index"]
    cloud.kill9("master")
    time.sleep(0.5)
    h = cloud.wait_providers(3, 60)
    check(h["applied_index"] >= before,
          f"restarted master kept its log (applied {h['applied_index']} >= {before})")
    st, nodes = cloud.get("/v1/nodes")
    check(all(n["deaths"] == 0 and n["state"] == "alive" for n in nodes["nodes"]),
          "no provider was declared dead across the master restart")
    st, jobs = cloud.get("/v1/jobs")
    check({j["id"] for j in jobs["jobs"]} >= set(ids), "every job is still there")
    for jid in ids:
        f = cloud.wait_job(jid, timeout=300)
        check(f["state"] == "succeeded", f"job {f['name']} succeeded ({f['task_states']})")
        tasks = cloud.tasks(jid)
        check(len(tasks) == 20 and all(t["state"] == "succeeded" for t in tasks),
              f"all 20 tasks of {f['name']} succeeded")
        good = 0
        for t in tasks:
            st, full = cloud.get(f"/v1/tasks/{t['id']}")
            good += len([e for e in full["events"] if e["state"] == "succeeded"]) == 1
        check(good == 20, f"each task of {f['name']} accepted exactly once")
finally:
    cloud.stop()
finish()
