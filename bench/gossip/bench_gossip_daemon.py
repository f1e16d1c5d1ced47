# SPDX-License-Identifier: Apache-2.0
"""Gossip failure detection in the daemon: 50 provider agents on loopback
(`deepcloud dev`), five killed with kill -9; detection time as seen by every
survivor (p50, p99) against HashiCorp memberlist's measured 10.8 s p99 on
the same test (target: half of it), and bytes per member per second. It
runs the end-to-end test, which does the work, and keeps its JSON lines.
Usage: bench_gossip_daemon.py (DC_BIN=path/to/deepcloud; DC_GOSSIP_FAST=1
for --gossip-fast instead of the default LAN timing). A failed check
of the test (a false positive, say) makes the exit status non-zero."""
import os
import subprocess
import sys

here = os.path.dirname(os.path.abspath(__file__))
test = os.path.join(here, "..", "..", "tests", "integration", "test_gossip_daemon.py")
r = subprocess.run([sys.executable, test], capture_output=True, text=True,
                   cwd=os.path.dirname(test))
for line in r.stdout.splitlines():
    if line.startswith("{") or line.startswith("# "):
        print(line)
sys.exit(r.returncode)
