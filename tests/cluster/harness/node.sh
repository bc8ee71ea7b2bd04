#!/usr/bin/env bash
# node.sh - failure injection for one node of the up.sh cluster (adapted from
# ../shared/multinode/node.sh).
#
#   node.sh kill  N   power loss: SIGKILL dockerd, containerd, shims and all
#                           containers of node N (nothing of node N keeps running),
#                           and drop its sandboxes' network namespaces (a reboot would)
#   node.sh crash N   SIGKILL only node N's dockerd (+ its containerd); the
#                           containers keep running unsupervised, like a hung agent
#   node.sh stop  N   graceful daemon stop (SIGTERM, containers are stopped)
#   node.sh start N   (re)start node N's dockerd; it rejoins the swarm itself
#   node.sh partition N / heal N
#                           cut / restore node N's cable (everything keeps running)
#   node.sh pids  N   list the PIDs that belong to node N
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
cmd=${1:?usage: node.sh kill|crash|stop|start|partition|heal|pids N}
i=${2:?node number}
[ -e "/run/netns/$SWT_NS-n$i" ] || swt_die "no node $i"

case $cmd in
  kill)
    socks=$(nsenter --net="/run/netns/$SWT_NS-n$i" cat /proc/net/unix | awk '$8 ~ /^\/run\/containerd\/s\// {print $8}')
    p=$(swt_dockerd_pid "$i"); if [ -n "$p" ]; then kill -KILL "$p"; fi
    # containers first (their shims reap them), then containerd/shims/the rest
    for t in $(seq 40); do
      pids=$(swt_cgroup_pids "$i"); [ -z "$pids" ] && break
      kill -KILL $pids 2>/dev/null || true; sleep 0.25
    done
    for t in $(seq 40); do
      pids=$(swt_node_pids "$i"); [ -z "$pids" ] && break
      kill -KILL $pids 2>/dev/null || true; sleep 0.25
    done
    [ -z "$(swt_node_pids "$i")" ] || swt_die "node$i: some processes survived"
    for s in $socks; do rm -f "$s"; done   # sockets of the killed shims
    # A power cut also loses kernel state that killed processes leave behind: the
    # network namespaces dockerd bind-mounted for its sandboxes (an overlay
    # network's sandbox holds its vxlan device). Left in place, a leaked vxlan
    # device keeps its VXLAN ID busy on this node, and a later network given the
    # same ID fails here with "error creating vxlan interface: file exists".
    for f in "$SWT_RUN/n$i/exec/netns"/*; do
      [ -e "$f" ] || continue
      nsenter --mount="$SWT_RUN/ns/n$i.mnt" umount "$f" 2>/dev/null ||
        nsenter --mount="$SWT_RUN/ns/n$i.mnt" umount -l "$f" 2>/dev/null || true
      rm -f "$f"
    done
    ;;
  crash)
    p=$(swt_dockerd_pid "$i"); [ -n "$p" ] || swt_die "node$i dockerd not running"
    kill -KILL "$p" ;;
  stop)
    p=$(swt_dockerd_pid "$i"); if [ -z "$p" ]; then exit 0; fi
    kill -TERM "$p"
    for t in $(seq $((SWT_TIMEOUT * 4))); do [ -d "/proc/$p" ] || exit 0; sleep 0.25; done
    swt_die "node$i dockerd still running after ${SWT_TIMEOUT}s" ;;
  start)
    swt_start_dockerd "$i"; swt_wait_dockerd "$i" ;;
  partition) ip -n "$SWT_NS-hub" link set "v$i" down ;;
  heal)      ip -n "$SWT_NS-hub" link set "v$i" up ;;
  pids)      swt_node_pids "$i" ;;
  *) swt_die "unknown command $cmd" ;;
esac
