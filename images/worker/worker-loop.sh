#!/bin/sh
# Loop forever, writing a heartbeat (epoch seconds) that the health check reads;
# `sleep` runs in the background so the TERM trap fires at once.
trap 'echo "worker: stopping" >&2; exit 0' TERM INT
echo "worker: started" >&2
while :; do
  date +%s > /tmp/heartbeat
  echo "worker: tick"
  sleep "$TICK_SECONDS" &
  wait $!
done
