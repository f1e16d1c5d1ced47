#!/bin/sh
# `make sim-sched`: the scheduling simulator's tables in docs/matching.md,
# one run per trace in the folder given (every SWF log and every Alibaba
# pod list), then the SWF logs again with node failures and uneven speeds.
# Usage: scripts/sim-sched.sh path/to/deepcloud TRACES_DIR
set -eu
BIN=${1:?deepcloud binary}
DIR=${2:?traces folder (DC_TRACES)}

# run TITLE FILE [extra options]: one table, headed by the command that
# reproduces it.
run() {
  title=$1 f=$2
  shift 2
  [ -e "$f" ] || return 0
  echo "### $title"
  echo "\$ deepcloud sim sched --workload $(basename "$f") --seed 1 $*"
  "$BIN" sim sched --workload "$f" --seed 1 "$@"
  echo
}

for f in "$DIR"/*.swf "$DIR"/*pod_list*.csv; do
  run "$(basename "$f")" "$f"
done
for f in "$DIR"/*.swf; do
  run "$(basename "$f"), node failures (MTBF 500 h, repair 1 h), speeds 0.7-1.3" \
    "$f" --mtbf-h 500 --speed-spread 0.3
done
