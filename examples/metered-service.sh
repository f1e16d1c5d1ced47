#!/bin/sh
# A long-running service paid per second through a PayWord channel: the
# user opens a channel to the provider running the service and pays one
# tick (0.001 DEEP) per second while it runs; the ticks travel on the
# provider's session (the master does not store them); at the end the
# provider closes the channel with the highest tick it verified. (The
# provider's agent would close it by itself once the ticks stop, after
# --channel-idle-s, 60 s by default; the script closes at once.)
# Usage (on a dev cloud): examples/metered-service.sh DEV_DATA_DIR
set -eu
DC=${DC:-deepcloud}
DATA=${1:?usage: metered-service.sh DEV_DATA_DIR}
$DC wallet faucet 10 >/dev/null
JOB=$($DC job run "$(dirname "$0")/metered-service.json" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
# Wait until the service runs, and learn its provider.
NODE=""
while [ -z "$NODE" ]; do
  sleep 0.5
  NODE=$($DC api GET "/v1/jobs/$JOB/tasks" | python3 -c '
import json, sys
t = json.load(sys.stdin)["tasks"][0]
print(t["node"] if t["state"] == "running" else "")')
done
CH=$($DC wallet channel open "$NODE" 0.001 3600 --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["hash"])')
echo "service $JOB runs on $NODE; paying through channel $CH"
SECS=0
while [ "$($DC api GET "/v1/jobs/$JOB" | python3 -c 'import json,sys; print(json.load(sys.stdin)["state"])')" = running ]; do
  $DC wallet channel pay "$CH" 1 >/dev/null
  SECS=$((SECS + 1))
  sleep 1
done
echo "paid $SECS seconds; the provider closes the channel:"
for p in "$DATA"/provider-*; do
  if [ -f "$p/channels/$CH.tick" ]; then
    $DC wallet channel close "$CH" --provider-dir "$p"
  fi
done
$DC wallet balance
