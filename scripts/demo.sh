#!/usr/bin/env bash
# demo.sh - the stackctl story on the local Swarm, one step at a time:
# validate, diff, apply v1, rolling update to v2, a broken release caught by the
# health gate and rolled back, history, one-step rollback to revision 1, status.
#
# Run it through ./dev demo (which sets up the Swarm, the images and the venv).
# Each step prints what it shows and checks stackctl's exit code; any unexpected
# code stops the demo with an error. Running it again continues the same stack
# (diffs then show "no changes", history grows).
#
# Env: DEMO_STACK (default demo), DEMO_PORT (web's host port, default 18080).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
STACK=${DEMO_STACK:-demo}
FILE=stacks/demo/stack.yml
export DEMO_PORT=${DEMO_PORT:-18080}
unset DEMO_VERSION API_VERSION # each step sets the version it shows

if ! command -v stackctl >/dev/null 2>&1; then
  [ -x "$ROOT/.venv/bin/stackctl" ] || {
    echo "stackctl not found: run ./dev demo (or ./dev cluster first)" >&2
    exit 1
  }
  PATH="$ROOT/.venv/bin:$PATH"
fi

if [ -t 1 ]; then BOLD=$'\033[1;36m' DIM=$'\033[2m' OK=$'\033[1;32m' OFF=$'\033[0m'; else BOLD='' DIM='' OK='' OFF=''; fi

STEP=0
step() {
  STEP=$((STEP + 1))
  printf '\n%s=== %d. %s%s\n' "$BOLD" "$STEP" "$1" "$OFF"
  shift
  local line
  for line in "$@"; do printf '    %s\n' "$line"; done
}

# expect "CODES" CMD...: run CMD, show it, and stop the demo unless its exit code
# is one of CODES (space separated).
expect() {
  local codes=$1 rc=0
  shift
  printf '%s$ %s%s%s\n' "$DIM" "${DEMO_VERSION:+DEMO_VERSION=$DEMO_VERSION }" "$*" "$OFF"
  "$@" || rc=$?
  case " $codes " in
    *" $rc "*) printf '%s(exit %d, as expected)%s\n' "$DIM" "$rc" "$OFF" ;;
    *)
      printf '\nDEMO FAILED: `%s` exited %d, expected %s\n' "$*" "$rc" "$codes" >&2
      exit 1
      ;;
  esac
}

# what web answers on its published port (retries: the task may just have started)
show_web() {
  local i out
  for i in $(seq 20); do
    if out=$(timeout 3 busybox wget -q -O- "http://127.0.0.1:$DEMO_PORT/" 2>/dev/null); then
      printf 'web on 127.0.0.1:%s answers: %s\n' "$DEMO_PORT" "$out"
      [ -z "${1:-}" ] || [ "$out" = "$1" ] || {
        echo "DEMO FAILED: expected '$1'" >&2
        exit 1
      }
      return 0
    fi
    sleep 0.5
  done
  echo "DEMO FAILED: web does not answer on 127.0.0.1:$DEMO_PORT (port taken by something else? set DEMO_PORT)" >&2
  exit 1
}

step "Validate the demo stack file" \
  "Schema, references and values are checked offline; nothing touches the cluster."
expect "0" stackctl validate -c "$FILE"

step "Preview the changes (diff)" \
  "A field-level plan against what the cluster runs now: exit 2 = changes pending, 0 = in sync."
expect "0 2" stackctl diff "$STACK" -c "$FILE"

step "Apply version 1" \
  "Creates network, config, secret and services; waits until every task is healthy."
expect "0" stackctl apply "$STACK" -c "$FILE" --yes
show_web "version 1"

step "Diff for version 2 (DEMO_VERSION=2)" "Only web's image changes."
DEMO_VERSION=2 expect "0 2" stackctl diff "$STACK" -c "$FILE"

step "Rolling update to version 2" \
  "One task at a time, each gated by its health check."
DEMO_VERSION=2 expect "0" stackctl apply "$STACK" -c "$FILE" --yes
show_web "version 2"

step "Release a broken version (DEMO_VERSION=broken)" \
  "Its health check never passes: the health gate stops the update and rolls back." \
  "Exit code 3 = failed and rolled back, which is the expected outcome here."
DEMO_VERSION=broken expect "3" stackctl apply "$STACK" -c "$FILE" --yes
show_web "version 2"

step "History" "Every apply is a revision stored in the cluster, with its outcome."
expect "0" stackctl history "$STACK"

step "Roll back to revision 1 in one step"
expect "0" stackctl rollback "$STACK" --to 1 --yes
show_web "version 1"

step "Status" "What runs now, and whether it matches the last applied revision."
expect "0" stackctl status "$STACK"

printf '\n%sDemo complete.%s The stack "%s" keeps running; remove it with: stackctl rm %s --yes\n' "$OK" "$OFF" "$STACK" "$STACK"
