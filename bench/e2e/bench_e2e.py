# SPDX-License-Identifier: Apache-2.0
"""End-to-end benchmark of the spine.

1. Throughput: 1,000 tiny tasks (/bin/true) through the whole path — signed
   submit, commit, placement, RUN_TASK, default sandbox, signed result,
   commit — on a dev cloud whose providers can run P tasks at once. The rate
   is printed beside two baselines measured in the same run at the same
   parallelism P by bench_sandbox: bare fork+exec of /bin/true, and a loop
   that only creates and tears down default sandboxes.
2. Latency: single-task jobs submitted one after another; submit-to-start
   is the time from the submit command's timestamp to the task's `running`
   event (both stamped by the master), p50 and p99.

Prints one JSON object per figure. Targets (issue 2): >= 0.3 of bare spawn,
>= 0.7 of the sandbox-only loop, p50 <= 20 ms, p99 <= 100 ms."""
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "tests", "integration"))
import harness  # noqa: E402

TASKS = int(os.environ.get("BENCH_TASKS", "1000"))
LAT_JOBS = int(os.environ.get("BENCH_LAT_JOBS", "200"))
PARALLEL = 2  # one provider offering 2 cores, tasks asking 1 core each


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100.0 * (len(xs) - 1))))]


def baselines(bench_sandbox):
    r = subprocess.run([bench_sandbox, "--tasks", str(TASKS), "--parallel", str(PARALLEL)],
                       capture_output=True, text=True, timeout=900, check=True)
    out = {}
    for line in r.stdout.splitlines():
        line = line.strip()
        if line.startswith("{"):
            out.update(json.loads(line))
    return out


def main():
    bench_sandbox = sys.argv[1]
    base = baselines(bench_sandbox)
    cloud = harness.Cloud(providers=1)
    try:
        spec = {"name": "tiny", "tasks": [{"name": "t", "count": TASKS, "command": ["/bin/true"],
                                            "resources": {"cpu": 1, "memory_mb": 64}}]}
        t0 = time.time()
        rc, j = cloud.submit(spec)
        f = cloud.wait_job(j["id"], timeout=1800)
        wall = time.time() - t0
        tasks = cloud.tasks(j["id"])
        ok = sum(t["state"] == "succeeded" for t in tasks)
        first = min(t["created_ms"] for t in tasks)
        last = max(t["finished_ms"] for t in tasks)
        rate = ok / ((last - first) / 1000.0)
        print(json.dumps({"bench": "e2e_tiny_tasks", "tasks": TASKS, "succeeded": ok,
                          "parallel": PARALLEL, "tasks_per_s": round(rate, 1),
                          "client_wall_s": round(wall, 2), "job_state": f["state"]}))
        bare = base.get("bare_spawn_per_s")
        sbx = base.get("sandbox_per_s")
        print(json.dumps({"bench": "e2e_vs_bare_spawn", "tasks_per_s": round(rate, 1),
                          "bare_spawn_per_s": bare,
                          "ratio": round(rate / bare, 3) if bare else None, "target": 0.3}))
        print(json.dumps({"bench": "e2e_vs_sandbox_loop", "tasks_per_s": round(rate, 1),
                          "sandbox_per_s": sbx,
                          "ratio": round(rate / sbx, 3) if sbx else None, "target": 0.7}))

        lat = []
        one = {"name": "one", "tasks": [{"name": "t", "command": ["/bin/true"],
                                          "resources": {"cpu": 1, "memory_mb": 64}}]}
        body = json.dumps(one)
        for _ in range(LAT_JOBS):
            rc, j = cloud.submit(one)
            jf = cloud.wait_job(j["id"], timeout=60)
            st, t = cloud.get(f"/v1/tasks/{j['id']}.t.0")
            running = [e["ts_ms"] for e in t["events"] if e["state"] == "running"]
            if running:
                lat.append(running[0] - jf["submitted_ms"])
        print(json.dumps({"bench": "e2e_submit_to_start_ms", "jobs": len(lat),
                          "p50": pct(lat, 50), "p99": pct(lat, 99),
                          "target_p50": 20, "target_p99": 100}))
        del body
    finally:
        cloud.stop()


if __name__ == "__main__":
    main()
