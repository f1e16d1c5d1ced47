# SPDX-License-Identifier: Apache-2.0
"""Bad input gets a clear 4xx error and changes nothing: malformed and
unknown-field specs, oversized bodies, unknown routes, unsigned, badly
signed, stale and replayed requests, someone else's job."""
import json
import os
import time

from harness import Cloud, check, finish

cloud = Cloud(providers=1)
try:
    good = json.dumps({"name": "ok", "tasks": [{"name": "t", "command": ["true"]}]})

    def signed_headers(method, path, body, ts=None, home=None):
        fn = os.path.join(cloud.dir, "body.json")
        with open(fn, "w") as f:
            f.write(body)
        args = ["api", method, path, "--data", fn, "--headers-only"]
        if ts is not None:
            args += ["--timestamp", str(ts)]
        env_home = {}
        if home:
            env_home = {"--home": home}
        for k, v in env_home.items():
            args += [k, v]
        return json.loads(cloud.cli(*args).stdout)

    def state():
        st, jobs = cloud.get("/v1/jobs")
        return cloud.health()["applied_index"], len(jobs["jobs"])

    # Start from a quiet cloud: the ledger seals the start-up commands
    # (provider registrations) into a block within a second of them.
    before = state()
    for _ in range(20):
        time.sleep(1.2)
        now = state()
        if now == before:
            break
        before = now

    # Malformed and invalid specs, through the signed path.
    for body, needle in [("{", "json"), ('{"name":"x"}', "tasks"),
                         (json.dumps({"name": "x", "tasks": [{"name": "t", "command": ["true"], "colour": 1}]}), "colour"),
                         (json.dumps({"name": "x", "tasks": [{"name": "t", "command": []}]}), "command"),
                         (json.dumps({"name": "x", "tasks": [{"name": "t", "command": ["true"], "after": ["t"]}]}), "t")]:
        h = signed_headers("POST", "/v1/jobs", body)
        st, r = cloud.http("POST", "/v1/jobs", body, h)
        msg = r["error"]["message"] if isinstance(r, dict) and "error" in r else ""
        check(st == 400 and needle in msg, f"bad spec refused with 400 naming '{needle}': {msg!r}")

    # A 2 MiB body is refused from its Content-Length, before it is read.
    head = (b"POST /v1/jobs HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 2097152\r\n\r\n")
    st, r = cloud.raw(head, b"{" * 4096)
    check(st == 413 and r["error"]["code"], f"2 MiB body refused with 413 ({st})")

    st, r = cloud.get("/v1/nope")
    check(st == 404 and "no route" in r["error"]["message"], "unknown route is 404 with a JSON error")

    st, r = cloud.http("POST", "/v1/jobs", good, {"Content-Type": "application/json"})
    check(st == 401 and r["error"]["code"] == "UNAUTH", "unsigned submit refused")

    h = signed_headers("POST", "/v1/jobs", good)
    bad = dict(h)
    bad["X-DC-Signature"] = ("0" * 128)
    st, r = cloud.http("POST", "/v1/jobs", good, bad)
    check(st == 401 and r["error"]["code"] == "BADSIG", "bad signature refused")

    st, r = cloud.http("POST", "/v1/jobs", good.replace("ok", "ko"), h)
    check(st == 401 and r["error"]["code"] == "BADSIG", "body changed after signing refused")

    old = signed_headers("POST", "/v1/jobs", good, ts=1)
    st, r = cloud.http("POST", "/v1/jobs", good, old)
    check(st == 401 and r["error"]["code"] == "STALE", "stale timestamp refused")

    check(state() == before, "nothing above reached the log or stored a job")

    st, r = cloud.http("POST", "/v1/jobs", good, h)
    check(st == 201, "a correctly signed submit is accepted")
    jid = r["id"]
    st, r = cloud.http("POST", "/v1/jobs", good, h)
    check(st == 401 and r["error"]["code"] == "REPLAY", "the same signed request again is a replay")

    # Idempotency: two signed submits with one key make one job.
    h1 = signed_headers("POST", "/v1/jobs", good)
    h1["Idempotency-Key"] = "abc"
    h2 = signed_headers("POST", "/v1/jobs", good)
    h2["Idempotency-Key"] = "abc"
    st1, r1 = cloud.http("POST", "/v1/jobs", good, h1)
    st2, r2 = cloud.http("POST", "/v1/jobs", good, h2)
    check(st1 == 201 and st2 == 200 and r1["id"] == r2["id"] and r2["existing"],
          "a retried submit with the same idempotency key finds the first job")

    # Another account cannot cancel my job.
    other = os.path.join(cloud.dir, "other-home")
    hc = signed_headers("DELETE", f"/v1/jobs/{jid}", "", home=other)
    st, r = cloud.http("DELETE", f"/v1/jobs/{jid}", None, hc)
    check(st in (403, 409), f"another account cannot cancel the job ({st})")

    # The CLI: clear errors and exit codes.
    r = cloud.cli("job", "run", "/nonexistent.json", check_rc=False)
    check(r.returncode == 2 and "cannot read" in r.stderr, "job run with a missing file exits 2")
    bad_spec = os.path.join(cloud.dir, "bad.json")
    with open(bad_spec, "w") as f:
        f.write('{"name": "x", "tasks": [{"name": "t", "command": ["true"], "bogus": 1}]}')
    r = cloud.cli("job", "run", bad_spec, check_rc=False)
    check(r.returncode == 1 and "bogus" in r.stderr, "job run with an unknown field exits 1 and names it")
    r = cloud.cli("job", "status", "0" * 32, check_rc=False)
    check(r.returncode == 1 and "no job" in r.stderr, "status of an unknown job exits 1")
    r = cloud.cli("job", "list", "--bogus", check_rc=False)
    check(r.returncode == 2 and "unknown option" in r.stderr, "unknown option exits 2")
    r = cloud.cli("job", "list", "--api", "http://127.0.0.1:1", check_rc=False)
    check(r.returncode == 2 and "cannot reach" in r.stderr, "unreachable API exits 2 with a hint")
    for noun in (["job"], ["node"], ["job", "run"], ["node", "list"], ["dev"], ["master"], ["provider"], ["api"]):
        r = cloud.cli(*noun, "--help", check_rc=False)
        check(r.returncode == 0 and "usage" in r.stdout, f"{' '.join(noun)} --help")
    nodes = cloud.cli_json("node", "list")
    check(len(nodes["nodes"]) == 1, "node list --json")
finally:
    cloud.stop()
finish()
