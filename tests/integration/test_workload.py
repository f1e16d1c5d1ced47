# SPDX-License-Identifier: Apache-2.0
"""A dev cloud with 3 providers runs 200 tasks, including a DAG and a task
array, all succeeding with correct outputs, in dependency order."""
from harness import Cloud, check, finish

cloud = Cloud(providers=3)
try:
    dag = {
        "name": "dag",
        "tasks": [
            {"name": "gen", "command": ["sh", "-c", "echo seed > seed.txt"],
             "outputs": ["seed.txt"], "resources": {"cpu": 0.1, "memory_mb": 64}},
            {"name": "square", "after": ["gen"], "count": 100,
             "command": ["sh", "-c", "echo $((DC_TASK_INDEX * DC_TASK_INDEX)) > out.txt"],
             "outputs": ["out.txt"], "resources": {"cpu": 0.1, "memory_mb": 64}},
            {"name": "sum", "after": ["square"],
             "command": ["sh", "-c", "echo done; echo $DC_TASK_NAME > out.txt"],
             "outputs": ["out.txt"], "resources": {"cpu": 0.1, "memory_mb": 64}},
        ],
    }
    array = {
        "name": "array",
        "tasks": [{"name": "echo", "count": 98,
                   "files": [{"path": "in.txt", "content": "hello"}],
                   "command": ["sh", "-c", "cat in.txt; echo \" $DC_TASK_INDEX\"; cat in.txt > out.txt; echo $DC_TASK_INDEX >> out.txt"],
                   "outputs": ["out.txt"], "resources": {"cpu": 0.1, "memory_mb": 64}}],
    }
    rc1, j1 = cloud.submit(dag)
    rc2, j2 = cloud.submit(array)
    check(rc1 == 0 and rc2 == 0, "both jobs accepted")
    f1 = cloud.wait_job(j1["id"])
    f2 = cloud.wait_job(j2["id"])
    check(f1["state"] == "succeeded", f"DAG job succeeded ({f1['task_states']})")
    check(f2["state"] == "succeeded", f"array job succeeded ({f2['task_states']})")
    t1, t2 = cloud.tasks(j1["id"]), cloud.tasks(j2["id"])
    check(len(t1) + len(t2) == 200, f"200 tasks in all ({len(t1) + len(t2)})")
    check(all(t["state"] == "succeeded" for t in t1 + t2), "every task succeeded")

    bad = 0
    for t in t1:
        st, o = cloud.get(f"/v1/tasks/{t['id']}/outputs")
        files = {f["path"]: f.get("content") for f in o["outputs"]}
        if t["name"] == "square":
            want = f"{t['index'] * t['index']}\n"
            bad += files.get("out.txt") != want
        elif t["name"] == "sum":
            bad += files.get("out.txt") != "sum\n"
        else:
            bad += files.get("seed.txt") != "seed\n"
    for t in t2:
        st, o = cloud.get(f"/v1/tasks/{t['id']}/outputs")
        files = {f["path"]: f.get("content") for f in o["outputs"]}
        bad += files.get("out.txt") != f"hello{t['index']}\n"
    check(bad == 0, f"every output is correct ({bad} wrong)")

    gen = [t for t in t1 if t["name"] == "gen"][0]
    squares = [t for t in t1 if t["name"] == "square"]
    total = [t for t in t1 if t["name"] == "sum"][0]
    check(all(s["started_ms"] >= gen["finished_ms"] for s in squares),
          "no square started before gen finished")
    check(total["started_ms"] >= max(s["finished_ms"] for s in squares),
          "sum started after every square finished")

    st, logs = cloud.get(f"/v1/tasks/{t2[5]['id']}/logs")
    check(st == 200 and logs["stdout"] == "hello 5\n", "task stdout is kept and served")
    nodes = {t["node"] for t in t1 + t2}
    check(len(nodes) == 3, f"work spread over all 3 providers ({len(nodes)})")
    check(all(t["usage"]["wall_ms"] is not None and t["sandbox"] for t in t2),
          "usage and sandbox mechanism recorded per task")
    st, m = cloud.get("/metrics")
    check(st == 200 and 'deepcloud_tasks{state="succeeded"} 200' in m,
          "/metrics counts 200 succeeded tasks")
finally:
    cloud.stop()
finish()
