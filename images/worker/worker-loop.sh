#!/bin/sh
# Loop forever; `sleep` runs in the background so the TERM trap fires at once.
trap 'echo "worker: stopping" >&2; exit 0' TERM INT
echo "worker: started" >&2
while :; do
  echo "worker: tick"
  sleep "$TICK_SECONDS" &
  wait $!
done
