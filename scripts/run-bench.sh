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
echo "# raft: 3 replicas vs the local log (throughput at 256 in flight and a sweep of larger windows, round times, commit latency), snapshot time vs state size"
"$B/bench/raft/bench_raft" 20000
echo "# raft failover: 3 masters as real processes, 10 leader kills, then 60 s of steady load"
DC_BIN="$B/deepcloud" python3 bench/raft/bench_failover.py 10 60
echo "# ledger: signed transfers/s through a real master, one per request and batched, vs the Ed25519 verify rate of all cores"
"$B/bench/ledger/bench_ledger" "$B/deepcloud" 64 300
echo "# ledger apply: the FSM alone (the commit thread's work), schema 4's history storage then this build's"
"$B/bench/ledger/bench_ledger_apply" 60000 300 1000 4
"$B/bench/ledger/bench_ledger_apply" 60000 300 1000
echo "# sched: placements/s at 10,000 nodes vs v0 (target 50,000/s); one 1,000-task batch (target < 100 ms)"
"$B/bench/sched/bench_sched"
if [ -n "${DC_TRACES:-}" ]; then
  echo "# predict: online runtime prediction, learned vs user estimate vs Tsafrir"
  "$B/bench/predict/bench_rtpred" "$DC_TRACES/metacentrum-wagap-2013.swf"
  echo "# predict: arrivals per hour, Holt-Winters vs naive and seasonal naive (MASE)"
  "$B/bench/predict/bench_forecast" "$DC_TRACES/metacentrum-wagap-2013.swf"
  echo "# predict: right-sizing on VM traces, learned vs provisioned vs VPA-like"
  "$B/bench/predict/bench_rightsize" "$DC_TRACES/bitbrains-rnd-2013-07" --split
fi
echo "# gossip: Lifeguard vs plain SWIM in the simulator (false positives, detection, bytes, Vivaldi)"
"$B/bench/gossip/bench_gossip" --max-members 10000
"$B/bench/ledger/bench_ledger" --tick-rate >/dev/null && DC_BIN="$B/deepcloud" python3 bench/ledger/bench_ticks.py "$B/bench/ledger/bench_ledger"
echo "# gossip in the daemon: 50 providers, 5 killed; detection p50/p99 vs memberlist's 10.8 s"
DC_BIN="$B/deepcloud" python3 bench/gossip/bench_gossip_daemon.py || true
DC_BIN="$B/deepcloud" DC_GOSSIP_FAST=1 python3 bench/gossip/bench_gossip_daemon.py || true
