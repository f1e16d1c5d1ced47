# SPDX-License-Identifier: Apache-2.0
"""The matching engine in the daemon: the learned policy is the default and
explains every decision; the runtime model trains on the master's own
history off the loop and is saved; `deepcloud recommend` suggests right-
sized requests from past runs; `--policy` switches to a baseline."""
import json
import os
import time

from harness import Cloud, check, finish

SPEC = {"name": "fit", "tasks": [{
    "name": "work", "count": 80,
    "command": ["sh", "-c", "x=0; while [ $x -lt 2000 ]; do x=$((x+1)); done"],
    "resources": {"cpu": 0.5, "memory_mb": 512}}]}

cloud = Cloud(providers=2)
try:
    rc, j = cloud.submit(SPEC, wait=True)
    check(rc == 0 and j["state"] == "succeeded", "80 tasks ran under the default policy")
    d = cloud.cli_json("job", "explain", j["id"])
    check(len(d) == 80, f"every task has a recorded decision ({len(d)})")
    first = d[0]["decisions"][0]
    check(first["policy"] == "learned" and first["chosen"] and first["candidates"],
          f"decisions name the policy, the candidates and the choice: {first['text']}")
    check(all(x["decisions"][-1]["solver"] == "min-cost flow" for x in d),
          "the learned policy assigned each window by min-cost flow")
    c0 = first["candidates"][0]
    check(0 <= c0["fail_prob"] < 1 and c0["speed"] > 0,
          f"each candidate carries its estimated risk and speed ({c0['fail_prob']:.3f}, "
          f"{c0['speed']:.2f})")
    nodes = {x["id"] for x in cloud.get("/v1/nodes")[1]["nodes"]}
    check(all(x["decisions"][-1]["chosen"] in nodes for x in d),
          "each choice is a live provider")
    txt = cloud.cli("job", "explain", j["id"]).stdout
    check("candidate" in txt and "policy=learned" in txt, "readable explanation")

    # The model learns from the 80 finished tasks (looked at every 5 s).
    model = os.path.join(cloud.dir, "cloud", "master", "runtime.model")
    deadline = time.time() + 40
    while time.time() < deadline and not os.path.exists(model):
        time.sleep(0.5)
    check(os.path.exists(model), "the runtime model was fitted off the loop and saved")
    with open(os.path.join(cloud.dir, "cloud", "master.log")) as f:
        log = f.read()
    check("runtime model refitted" in log, "the master logged the fit")

    # What to ask for: the same job again, from its past runs.
    path = os.path.join(cloud.dir, "again.json")
    with open(path, "w") as f:
        json.dump(SPEC, f)
    rec = cloud.cli_json("recommend", path)
    t = rec["tasks"][0]
    check(t["basis"]["memory"] == "history" and t["evidence"]["memory"] >= 5,
          f"memory suggestion from history ({t['evidence']['memory']} runs)")
    check(t["suggested"]["memory_mb"] < 512 and t["suggested"]["cpu_millis"] <= 500,
          f"suggests less than asked: {t['suggested']} vs {t['requested']}")
    check(t["cost"] <= t["cost_requested"], "and costs no more than the request")
    check(t["expected_runtime_s"]["value"] < 3600,
          f"expected runtime from the model, not the 1 h timeout "
          f"({t['expected_runtime_s']['value']:.1f} s)")
    r = cloud.cli("recommend", os.path.join(cloud.dir, "nope.json"), check_rc=False)
    check(r.returncode == 2, "a missing spec file is a usage error")
    with open(path, "w") as f:
        f.write('{"name": "x", "tasks": [{"name": "t", "command": ["true"], "colour": 1}]}')
    r = cloud.cli("recommend", path, check_rc=False)
    check(r.returncode != 0 and "colour" in r.stderr, "an invalid spec is refused with its field")
finally:
    cloud.stop()

# A baseline instead, chosen through the environment like any master option.
cloud = Cloud(providers=2, extra_env={"DEEPCLOUD_POLICY": "first-fit"})
try:
    rc, j = cloud.submit({"name": "ff", "tasks": [{"name": "t", "count": 4,
                                                   "command": ["true"]}]}, wait=True)
    d = cloud.cli_json("job", "explain", j["id"])
    check(rc == 0 and all(x["decisions"][0]["policy"] == "first-fit" and
                          x["decisions"][0]["solver"] == "choose" for x in d),
          "--policy first-fit is used (task by task) and explained")
finally:
    cloud.stop()
finish()
