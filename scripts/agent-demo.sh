#!/usr/bin/env bash
# ./dev agent-demo: the GitOps agent end to end with a local git repository.
#
#   1. a commit (web:1) is pushed         -> the running agent rolls it out
#   2. a broken image is pushed           -> rolled back, reported, and not retried
#   3. a fix (web:2) is pushed            -> applied
#
# The agent runs as a process (`stackctl agent --config ...`, interval 2s) and is stopped
# with SIGTERM at the end; the stack `agent-demo` is left running. Remove it with
#   stackctl rm agent-demo --yes
set -euo pipefail

STACK=${AGENT_DEMO_STACK:-agent-demo}
WORK=$(mktemp -d /tmp/stackctl-agent-demo.XXXXXX)
AGENT_PID=
TAIL_PID=
cleanup() {
  if [ -n "$AGENT_PID" ] && kill -0 "$AGENT_PID" 2>/dev/null; then
    kill -TERM "$AGENT_PID"
    wait "$AGENT_PID" || true
  fi
  if [ -n "$TAIL_PID" ]; then kill "$TAIL_PID" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

say() { if [ -t 1 ]; then printf '\n\033[1;36m## %s\033[0m\n' "$*"; else printf '\n## %s\n' "$*"; fi; }
export GIT_AUTHOR_NAME=demo GIT_AUTHOR_EMAIL=demo@example.com
export GIT_COMMITTER_NAME=demo GIT_COMMITTER_EMAIL=demo@example.com

git init -q --bare -b main "$WORK/deploy.git"
git init -q -b main "$WORK/work"
mkdir -p "$WORK/work/web"

push() { # push IMAGE_TAG MESSAGE -> prints the commit SHA
  cat >"$WORK/work/web/stack.yml" <<EOF
services:
  web:
    image: stackctl-demo/web:$1
    stop_grace_period: 1s
    deploy:
      replicas: 2
      update_config: {parallelism: 1, delay: 0s, order: start-first, monitor: 2s}
EOF
  git -C "$WORK/work" add -A
  git -C "$WORK/work" commit -q -m "$2"
  git -C "$WORK/work" push -q "$WORK/deploy.git" HEAD:main
  git -C "$WORK/work" rev-parse HEAD
}

# wait_for COMMIT OUTCOME...: poll the agent's status, stored in the cluster, with a
# deadline, until it reports one of OUTCOMEs for COMMIT (the status moves on at the next
# pass, e.g. applied -> no_change, so a poll may see only the later one)
wait_for() {
  local commit=$1 deadline=$((SECONDS + 300)) got outcome
  shift
  while [ $SECONDS -lt $deadline ]; do
    got=$(stackctl agent status "$STACK" --json | python3 -c \
      'import json,sys; s=json.load(sys.stdin)["stacks"][0]; print((s["commit"] or "") + " " + (s["outcome"] or ""))')
    for outcome in "$@"; do
      if [ "$got" = "$commit $outcome" ]; then return 0; fi
    done
    sleep 0.5
  done
  echo "ERROR: the agent did not report $* for ${commit:0:12} within 300s (last: $got)" >&2
  exit 1
}

cat >"$WORK/agent.yml" <<EOF
interval: 2s
listen: 127.0.0.1:0    # a free port: demos and tests may run side by side
state_dir: $WORK/state
stacks:
  - name: $STACK
    repo: $WORK/deploy.git
    branch: main
    files: [web/stack.yml]
    apply: {timeout: 3m, pending_timeout: 30s}
EOF

say "agent.yml"
cat "$WORK/agent.yml"

say "1. push web:1; the agent (already running) rolls it out"
# the agent's stderr goes to a file (and on to the terminal): its first line names the
# address it listens on, a free port picked at start
stackctl agent --config "$WORK/agent.yml" 2>"$WORK/agent.err" &
AGENT_PID=$!
deadline=$((SECONDS + 60))
URL=
while [ -z "$URL" ]; do
  URL=$(sed -n 's|.*listening on \(http://[^ ]*\).*|\1|p' "$WORK/agent.err" | head -n 1)
  if [ -z "$URL" ] && { [ $SECONDS -ge $deadline ] || ! kill -0 "$AGENT_PID" 2>/dev/null; }; then
    cat "$WORK/agent.err" >&2
    echo "ERROR: the agent did not start listening within 60s" >&2
    exit 1
  fi
  [ -n "$URL" ] || sleep 0.2
done
tail -n +1 -f "$WORK/agent.err" >&2 &
TAIL_PID=$!
echo "status page: $URL/   (also: $URL/metrics, $URL/healthz, $URL/api/v1/stacks)"
first=$(push 1 "web 1")
wait_for "$first" applied no_change

say "2. push web:broken: its health check never passes"
broken=$(push broken "web broken")
wait_for "$broken" held # held: its apply was rolled back (see the log above)
echo "(the agent holds commit ${broken:0:12}: not applied again on its next passes)"
stackctl agent status "$STACK"
echo "\$ curl -s $URL/api/v1/stacks"
curl -fsS "$URL/api/v1/stacks"

say "3. push the fix, web:2"
fixed=$(push 2 "web 2")
wait_for "$fixed" applied no_change

say "history: every apply names its commit; the broken one is recorded as rolled back"
stackctl history "$STACK"
say "stopping the agent (SIGTERM)"
kill -TERM "$AGENT_PID"
wait "$AGENT_PID"
AGENT_PID=
echo "agent exited 0; stack $STACK left running (remove: stackctl rm $STACK --yes)"
