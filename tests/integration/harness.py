# SPDX-License-Identifier: Apache-2.0
"""Shared harness for the end-to-end tests: starts a real `deepcloud dev`
cloud (one master and N providers, each its own process) in a scratch
folder on free loopback ports, and drives it through the CLI and the REST
API. Nothing is mocked."""
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

BIN = os.environ.get("DC_BIN", "deepcloud")
PASSED = 0
FAILED = 0


_GIVEN = set()


def _port_free(port):
    for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
        s = socket.socket(socket.AF_INET, kind)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        finally:
            s.close()
    return True


def free_port():
    """A loopback port free for TCP and UDP, drawn below the kernel's
    ephemeral range: a port from that range, free when checked, can be
    taken by an outgoing connection of a test running beside this one
    before the daemon binds it."""
    lo, hi = 32768, 60999
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            lo, hi = (int(x) for x in f.read().split()[:2])
    except (OSError, ValueError):
        pass
    if lo >= 12000:
        choices = range(10000, lo)
    elif hi <= 63000:
        choices = range(hi + 1, 65536)
    else:
        choices = range(10000, 65536)
    rng = random.SystemRandom()
    for _ in range(200):
        port = rng.choice(choices)
        # Handed out but not bound yet: never twice.
        if port not in _GIVEN and _port_free(port):
            _GIVEN.add(port)
            return port
    raise RuntimeError("no free loopback port")


def check(cond, what):
    global PASSED, FAILED
    if cond:
        PASSED += 1
        print(f"ok   - {what}", flush=True)
    else:
        FAILED += 1
        print(f"FAIL - {what}", flush=True)


def finish():
    print(f"{PASSED} passed, {FAILED} failed", flush=True)
    sys.exit(1 if FAILED or not PASSED else 0)


class Cloud:
    def __init__(self, providers=3, hb_timeout_ms=3000, restart=True, masters=1,
                 extra_env=None, dev_args=None, start_timeout=60, prepare=None):
        self.dir = tempfile.mkdtemp(prefix="dc-e2e-")
        if prepare:
            prepare(self.dir)  # e.g. keys to reuse, before anything starts
        self.home = os.path.join(self.dir, "home")
        self.port = free_port()
        self.api = f"http://127.0.0.1:{self.port}"
        self.apis = [self.api]
        self.providers = providers
        self.masters = masters
        self.env = dict(os.environ, DEEPCLOUD_API=self.api, DEEPCLOUD_HOME=self.home,
                        **(extra_env or {}))
        self.log = open(os.path.join(self.dir, "dev.out"), "w")
        self.proc = subprocess.Popen(
            [BIN, "dev", "--providers", str(providers), "--data",
             os.path.join(self.dir, "cloud"), "--api", f"127.0.0.1:{self.port}",
             "--masters", str(masters),
             "--heartbeat-timeout-ms", str(hb_timeout_ms),
             "--restart=" + ("true" if restart else "false")] + (dev_args or []),
            stdout=self.log, stderr=subprocess.STDOUT, env=self.env)
        if masters > 1:
            urls = os.path.join(self.dir, "cloud", "api.urls")
            deadline = time.time() + 30
            while not os.path.exists(urls) and time.time() < deadline:
                time.sleep(0.1)
            with open(urls) as f:
                self.apis = f.read().strip().split(",")
            self.env["DEEPCLOUD_API"] = ",".join(self.apis)
        self.wait_providers(providers, start_timeout)

    def leader_api(self, timeout=30):
        """The API URL of the master that says it leads (waits for one)."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            for a in self.apis:
                h = self.health(a)
                if h and h.get("leader"):
                    return a
            time.sleep(0.05)
        raise RuntimeError("no leader")

    def wait_voters(self, n=3, timeout=60):
        """`master list` once n voters are in the configuration (or the last
        answer at the deadline)."""
        deadline = time.time() + timeout
        while True:
            r = self.cli_json("master", "list")
            if sum(m["role"] == "voter" for m in r["masters"]) >= n or time.time() > deadline:
                return r
            time.sleep(0.2)

    # ---- HTTP ----
    def http(self, method, path, body=None, headers=None, api=None):
        data = body if isinstance(body, (bytes, type(None))) else body.encode()
        req = urllib.request.Request((api or self.api) + path, data=data, method=method,
                                     headers=headers or {})
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                raw = r.read()
                status = r.status
        except urllib.error.HTTPError as e:
            raw = e.read()
            status = e.code
        try:
            return status, json.loads(raw) if raw else None
        except ValueError:
            return status, raw.decode(errors="replace")

    def raw(self, head, body_prefix=b""):
        """Sends raw request bytes and returns (status, parsed body) of
        whatever the server answers, even when it answers before the whole
        body was sent (as it must for an oversized body)."""
        s = socket.create_connection(("127.0.0.1", self.port), timeout=30)
        try:
            s.sendall(head + body_prefix)
            data = b""
            while b"\r\n\r\n" not in data:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
            hdr, _, rest = data.partition(b"\r\n\r\n")
            status = int(hdr.split(b" ")[1])
            length = 0
            for line in hdr.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            while len(rest) < length:
                chunk = s.recv(65536)
                if not chunk:
                    break
                rest += chunk
            return status, json.loads(rest) if rest else None
        finally:
            s.close()

    def get(self, path, api=None, headers=None):
        return self.http("GET", path, api=api or self.leader_or_first(), headers=headers)

    def leader_or_first(self):
        if self.masters == 1:
            return self.api
        try:
            return self.leader_api(timeout=15)
        except RuntimeError:
            return self.api

    def health(self, api=None):
        try:
            st, b = self.http("GET", "/v1/health", api=api or self.api)
            return b if st == 200 else None
        except (urllib.error.URLError, ConnectionError, OSError):
            return None

    def wait_providers(self, n, timeout):
        deadline = time.time() + timeout
        while time.time() < deadline:
            h = None
            for a in self.apis:
                h = self.health(a)
                if h and h.get("leader"):
                    break
            if h and h.get("providers_live", 0) >= n:
                return h
            if self.proc.poll() is not None:
                break
            time.sleep(0.2)
        self.dump_logs()
        raise RuntimeError(f"cloud did not reach {n} live providers")

    # ---- CLI ----
    def cli(self, *args, check_rc=True, input_text=None):
        r = subprocess.run([BIN, *args], env=self.env, capture_output=True,
                           text=True, timeout=600, input=input_text)
        if check_rc and r.returncode != 0:
            print(r.stdout, r.stderr)
            raise RuntimeError(f"deepcloud {' '.join(args)} exited {r.returncode}")
        return r

    def cli_json(self, *args):
        return json.loads(self.cli(*args, "--json").stdout)

    def submit(self, spec, wait=False):
        path = os.path.join(self.dir, f"spec-{time.time_ns()}.json")
        with open(path, "w") as f:
            json.dump(spec, f)
        args = ["job", "run", path, "--json"] + (["--wait", "--timeout", "600"] if wait else [])
        r = self.cli(*args, check_rc=False)
        return r.returncode, json.loads(r.stdout) if r.stdout.strip() else None

    def wait_job(self, job_id, timeout=600):
        deadline = time.time() + timeout
        while time.time() < deadline:
            st, j = self.get(f"/v1/jobs/{job_id}")
            if st == 200 and j["state"] != "running":
                return j
            time.sleep(0.25)
        raise RuntimeError(f"job {job_id} did not finish in {timeout}s")

    def tasks(self, job_id):
        st, j = self.get(f"/v1/jobs/{job_id}/tasks")
        return j["tasks"]

    def pid(self, name):
        with open(os.path.join(self.dir, "cloud", f"{name}.pid")) as f:
            return int(f.read().strip())

    def kill9(self, name):
        os.kill(self.pid(name), signal.SIGKILL)

    def dump_logs(self):
        for root, _, files in os.walk(self.dir):
            for fn in files:
                if fn.endswith(".log") or fn == "dev.out":
                    p = os.path.join(root, fn)
                    print(f"----- {p} (tail)")
                    with open(p, errors="replace") as f:
                        print("".join(f.readlines()[-40:]))

    def stop(self, keep=False):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        if FAILED:
            self.dump_logs()
        if not keep and not FAILED:
            shutil.rmtree(self.dir, ignore_errors=True)
