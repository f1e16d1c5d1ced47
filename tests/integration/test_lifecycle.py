# SPDX-License-Identifier: Apache-2.0
"""Task life cycle on real processes: retries, a failure that fails its
dependents, a timeout, a missing output, and a cancel that kills the
running tasks on their providers."""
import os
import time

from harness import Cloud, check, finish


def host_procs_with(arg):
    n = 0
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                if arg.encode() in f.read():
                    n += 1
        except OSError:
            pass
    return n


cloud = Cloud(providers=2)
try:
    spec = {"name": "life", "tasks": [
        {"name": "flaky", "retries": 2, "command": ["sh", "-c", "exit 3"]},
        {"name": "after-flaky", "after": ["flaky"], "command": ["true"]},
        {"name": "slow", "timeout_s": 1, "command": ["sleep", "30"]},
        {"name": "no-output", "command": ["true"], "outputs": ["missing.txt"]},
        {"name": "fine", "command": ["sh", "-c", "echo ok"]},
    ]}
    rc, j = cloud.submit(spec, wait=True)
    check(rc == 1, "job run --wait exits 1 when a task failed")
    tasks = {t["name"]: t for t in cloud.tasks(j["id"])}
    f = tasks["flaky"]
    check(f["state"] == "failed" and f["attempt"] == 3 and f["retries_used"] == 2
          and f["exit_code"] == 3, f"flaky ran 3 times then failed (attempt {f['attempt']})")
    d = tasks["after-flaky"]
    check(d["state"] == "failed" and "dependency flaky failed" in (d["reason"] or ""),
          f"its dependent failed with the reason ({d['reason']!r})")
    s = tasks["slow"]
    check(s["state"] == "failed" and s["outcome"] == "timeout" and s["usage"]["wall_ms"] < 5000,
          f"slow timed out ({s['outcome']}, {s['usage']['wall_ms']} ms)")
    n = tasks["no-output"]
    check(n["state"] == "failed" and "missing.txt" in (n["reason"] or ""),
          f"a missing declared output fails the task ({n['reason']!r})")
    check(tasks["fine"]["state"] == "succeeded", "the healthy task succeeded")
    st, job = cloud.get(f"/v1/jobs/{j['id']}")
    check(job["state"] == "failed", "the job failed")

    marker = "31.4159"
    spec = {"name": "cancel-me", "tasks": [{"name": "long", "count": 4,
                                           "command": ["sleep", marker],
                                           "resources": {"cpu": 0.5}}]}
    rc, j = cloud.submit(spec)
    deadline = time.time() + 30
    while time.time() < deadline:
        running = [t for t in cloud.tasks(j["id"]) if t["state"] == "running"]
        if len(running) == 4:
            break
        time.sleep(0.1)
    check(host_procs_with(marker) == 4, "four sandboxed sleeps run on the host")
    r = cloud.cli("job", "cancel", j["id"])
    check("canceled" in r.stdout, "job cancel answers")
    deadline = time.time() + 10
    while time.time() < deadline and host_procs_with(marker) > 0:
        time.sleep(0.1)
    check(host_procs_with(marker) == 0, "the cancel killed every running task")
    tasks = cloud.tasks(j["id"])
    check(all(t["state"] == "canceled" for t in tasks), "all its tasks are canceled")
    r = cloud.cli("job", "cancel", j["id"], check_rc=False)
    check(r.returncode == 1 and "already ended" in r.stderr, "canceling twice is a clear error")
finally:
    cloud.stop()
finish()
