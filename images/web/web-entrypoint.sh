#!/bin/sh
# Entry point of stackctl-demo/web. Runs busybox httpd in the foreground as a
# child of this shell: httpd as PID 1 ignores SIGTERM, so this shell traps TERM
# and INT and stops it, which keeps `docker service update/rm` fast with or
# without `init: true`.
if [ "$WEB_VERSION" = crash ]; then
  echo "web $WEB_VERSION: exiting at once on purpose" >&2
  exit 1
fi
echo "web version $WEB_VERSION listening on :$PORT" >&2
httpd -f -p "$PORT" -h /www &
pid=$!
trap 'kill "$pid" 2>/dev/null; exit 0' TERM INT
wait "$pid"
