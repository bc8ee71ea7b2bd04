#!/usr/bin/env bash
# deploy.sh - stackctl in any CI system (Jenkins, Buildkite, Drone, cron, ...).
#
#   deploy.sh check   validate the files (fails on errors), then write the plan as
#                     Markdown to $PLAN_FILE for a review comment
#   deploy.sh apply   apply with --yes; a failed rollout fails the job with a summary
#   deploy.sh drift   compare the cluster with the files; exit 2 when they differ
#
# Settings (environment):
#   STACK        stack name (required)
#   STACK_FILE   stack file(s), space separated (default: stack.yml)
#   ENV_FILE     optional --env-file for ${VAR} interpolation
#   PLAN_FILE    where `check` writes the Markdown plan (default: plan.md)
#   STACKCTL     the stackctl command (default: stackctl)
#   STACKCTL_APPLY_ARGS  extra apply options, e.g. "--timeout 15m --lock-timeout 5m"
#   DOCKER_HOST / DOCKER_CONTEXT / DOCKER_TLS_VERIFY / DOCKER_CERT_PATH choose the engine
#
# Exit status: 0 success; otherwise stackctl's own code, so a caller can tell
# them apart: 1 error (nothing changed), 2 changes pending / drift, 3 failed and
# rolled back, 4 failed and left paused/partial, 5 timed out.
set -uo pipefail

: "${STACK:?set STACK to the stack name}"
STACK_FILE=${STACK_FILE:-stack.yml}
PLAN_FILE=${PLAN_FILE:-plan.md}
STACKCTL=${STACKCTL:-stackctl}
MODE=${1:-}

files=()
for file in $STACK_FILE; do files+=(-c "$file"); done
[ -n "${ENV_FILE:-}" ] && files+=(--env-file "$ENV_FILE")

# explain CODE: one line saying what stackctl's exit code means for this job
explain() {
  case $1 in
    0) echo "ok" ;;
    1) echo "error: nothing was changed (invalid stack file, engine unreachable, lock held, stale plan); see the messages above" ;;
    2) echo "changes pending: the cluster differs from the stack files" ;;
    3) echo "FAILED and ROLLED BACK: the new release did not become healthy; the stack runs the previous release" ;;
    4) echo "FAILED and left PAUSED or PARTIAL: look at 'stackctl status $STACK', then 'stackctl rollback $STACK --yes' or fix and re-apply" ;;
    5) echo "TIMED OUT: changes were submitted but did not converge in time; nothing was rolled back, check 'stackctl status $STACK'" ;;
    *) echo "unexpected exit code $1" ;;
  esac
}

run_check() {
  local rc=0
  "$STACKCTL" validate "${files[@]}" || rc=$?
  if [ "$rc" != 0 ]; then
    echo "deploy.sh: validation: $(explain "$rc")" >&2
    return "$rc"
  fi
  "$STACKCTL" diff "$STACK" "${files[@]}" --format markdown >"$PLAN_FILE" || rc=$?
  case $rc in
    0 | 2)
      echo "deploy.sh: plan written to $PLAN_FILE ($(explain "$rc"))"
      return 0
      ;;
    *)
      echo "deploy.sh: diff: $(explain "$rc")" >&2
      return "$rc"
      ;;
  esac
}

run_apply() {
  local rc=0
  # shellcheck disable=SC2086 # STACKCTL_APPLY_ARGS is a list of options
  "$STACKCTL" apply "$STACK" "${files[@]}" --yes --no-color ${STACKCTL_APPLY_ARGS:-} || rc=$?
  if [ "$rc" = 0 ]; then
    echo "deploy.sh: stack $STACK is deployed and healthy"
  else
    echo "deploy.sh: apply of stack $STACK exited $rc: $(explain "$rc")" >&2
  fi
  return "$rc"
}

run_drift() {
  local rc=0
  "$STACKCTL" diff "$STACK" "${files[@]}" --no-color || rc=$?
  case $rc in
    0) echo "deploy.sh: no drift: stack $STACK matches the files" ;;
    2) echo "deploy.sh: DRIFT: stack $STACK differs from the files (plan above)" >&2 ;;
    *) echo "deploy.sh: drift check failed: $(explain "$rc")" >&2 ;;
  esac
  return "$rc"
}

case $MODE in
  check) run_check ;;
  apply) run_apply ;;
  drift) run_drift ;;
  *)
    echo "usage: STACK=name [STACK_FILE=stack.yml] $0 check|apply|drift" >&2
    exit 64
    ;;
esac
