#!/bin/sh
# `make sim-sched`: the scheduling simulator's tables in docs/matching.md,
# one run per trace in the folder given (every SWF log and every Alibaba
# pod list), then the SWF logs again with node failures and uneven speeds.
# Usage: scripts/sim-sched.sh path/to/deepcloud TRACES_DIR
set -eu
BIN=${1:?deepcloud binary}
DIR=${2:?traces folder (DC_TRACES)}
for f in "$DIR"/*.swf; do
  [ -e "$f" ] || continue
  echo "### $(basename "$f")"
  echo "\$ deepcloud sim sched --workload $(basename "$f") --seed 1"
  "$BIN" sim sched --workload "$f" --seed 1
  echo
done
for f in "$DIR"/*pod_list*.csv; do
  [ -e "$f" ] || continue
  echo "### $(basename "$f")"
  echo "\$ deepcloud sim sched --workload $(basename "$f") --seed 1"
  "$BIN" sim sched --workload "$f" --seed 1
  echo
done
for f in "$DIR"/*.swf; do
  [ -e "$f" ] || continue
  echo "### $(basename "$f"), node failures (MTBF 500 h, repair 1 h) and speeds 0.7-1.3"
  echo "\$ deepcloud sim sched --workload $(basename "$f") --seed 1 --mtbf-h 500 --speed-spread 0.3"
  "$BIN" sim sched --workload "$f" --seed 1 --mtbf-h 500 --speed-spread 0.3
  echo
done
