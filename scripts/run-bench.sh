#!/bin/sh
# `make bench`: every benchmark, each printing its figures beside the
# baseline it is measured against in the same run (JSON lines).
set -eu
B=${1:-build}
echo "# sandbox: bare spawn vs default sandbox loop"
"$B/bench/sandbox/bench_sandbox" --tasks 1000 --parallel 2
echo "# httpd: REST handoff to the loop vs answering in the MHD thread"
"$B/bench/httpd/bench_httpd"
echo "# end to end: 1000 tiny tasks through the whole path; submit-to-start"
DC_BIN="$B/deepcloud" python3 bench/e2e/bench_e2e.py "$B/bench/sandbox/bench_sandbox"
echo "# ledger: signed transfers/s through a real master vs the Ed25519 verify rate of all cores"
"$B/bench/ledger/bench_ledger" "$B/deepcloud" 64 300
"$B/bench/ledger/bench_ledger" --tick-rate >/dev/null && DC_BIN="$B/deepcloud" python3 bench/ledger/bench_ticks.py "$B/bench/ledger/bench_ledger"
