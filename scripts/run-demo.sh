#!/bin/sh
# `make run`: start a local cloud (1 master, 3 providers, each its own
# process), run every example job on it, show the results, stop the cloud.
# Exits non-zero if the cloud does not come up or any example job fails.
set -eu
BIN=${1:-build/deepcloud}
RUN_DIR=${DC_RUN_DIR:-.dc-run}
PORT=${DC_RUN_PORT:-8420}

if [ "$(id -u)" -ne 0 ]; then
  echo "make run: providers sandbox tasks with namespaces and cgroups; run as root" >&2
  exit 2
fi
# The default port may be taken by another cloud: walk up to a free one
# (curl exits 7 when nothing listens there).
while :; do
  rc=0
  curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$PORT/" || rc=$?
  [ "$rc" -eq 7 ] && break
  PORT=$((PORT + 1))
done

rm -rf "$RUN_DIR"
mkdir -p "$RUN_DIR"
export DEEPCLOUD_API="http://127.0.0.1:$PORT"
export DEEPCLOUD_HOME="$RUN_DIR/home"

"$BIN" dev --providers 3 --data "$RUN_DIR/cloud" --api "127.0.0.1:$PORT" &
DEV=$!
stop() { kill -TERM "$DEV" 2>/dev/null || true; wait "$DEV" 2>/dev/null || true; }
trap stop EXIT INT TERM

echo "waiting for 3 providers..."
i=0
until curl -fsS "$DEEPCLOUD_API/v1/health" 2>/dev/null | grep -q '"providers_live": *3'; do
  i=$((i + 1))
  if [ $i -gt 300 ] || ! kill -0 "$DEV" 2>/dev/null; then
    echo "the local cloud did not come up; logs in $RUN_DIR/cloud/*.log" >&2
    tail -n 20 "$RUN_DIR"/cloud/*.log >&2 || true
    exit 1
  fi
  sleep 0.2
done
echo
"$BIN" node list
status=0
for spec in examples/*.json; do
  echo
  echo "== $spec"
  if ! out=$("$BIN" job run "$spec" --wait --json); then status=1; fi
  id=$(printf '%s\n' "$out" | sed -n 's/^  "id": "\([0-9a-f]*\)".*/\1/p' | head -n 1)
  [ -n "$id" ] || { echo "no job id for $spec" >&2; status=1; continue; }
  "$BIN" job status "$id"
  last=$("$BIN" job status "$id" --json | grep -o "\"$id\.[^\"]*\"" | tail -n 1 | tr -d '"')
  if [ -n "$last" ]; then
    echo "-- stdout of $last:"
    "$BIN" job logs "$last" --stream stdout
  fi
done
echo
if [ $status -eq 0 ]; then echo "all example jobs succeeded"; else echo "some example jobs failed" >&2; fi
exit $status
