#!/usr/bin/env bash
# down.sh - remove everything up.sh created; safe to run repeatedly (also after a
# failed or half-finished up.sh, or after the processes were killed from outside).
# Adapted from ../shared/multinode/swarm-down.sh.
#
# Kills only processes that belong to our nodes (identified by their network /
# mount namespace or by the /stackctl-cluster/n<i> cgroup), always by PID.  Never
# touches the system dockerd, /var/lib/docker or /var/run/docker.sock.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
[ "$(id -u)" = 0 ] || swt_die "must run as root"

# node indices that exist (from the netns names, independent of SWT_NODES)
NODES=$(ls /run/netns 2>/dev/null | sed -n "s/^$SWT_NS-n\\([0-9][0-9]*\\)\$/\\1/p" | sort -n)

# 1. remember the shim sockets of our containerds (/run/containerd/s/<hash> is
#    shared with other containerds; ours are the ones bound inside our netns)
SOCKS=$(for i in $NODES; do
  nsenter --net="/run/netns/$SWT_NS-n$i" cat /proc/net/unix 2>/dev/null |
    awk '$8 ~ /^\/run\/containerd\/s\// {print $8}'
done | sort -u)

# 2. stop orchestration first: SIGKILL every node's dockerd (data is thrown away)
for i in $NODES; do
  p=$(swt_dockerd_pid "$i"); [ -n "$p" ] && kill -KILL "$p" 2>/dev/null
done

# 3. kill container processes (cgroup) first so their shims can reap them, then
#    everything else in our namespaces (containerd, shims, leftovers)
kill_node_pids() {  # $1 = node, $2 = "cgroup" | "all"
  local i=$1 t pids
  for t in $(seq 40); do
    if [ "$2" = cgroup ]; then pids=$(swt_cgroup_pids "$i"); else pids=$(swt_node_pids "$i"); fi
    [ -z "$pids" ] && return 0
    kill -KILL $pids 2>/dev/null
    sleep 0.25
  done
  swt_log "node$i: processes still alive after 10s: $pids"
}
for i in $NODES; do kill_node_pids "$i" cgroup; done
for i in $NODES; do kill_node_pids "$i" all; done

# 4. stale shim sockets of killed shims
for s in $SOCKS; do rm -f "$s"; done

# 4b. the registry forward (host namespaces, own process group: listener + connections)
p=$(swt_forward_pid); [ -n "$p" ] && kill -KILL -- "-$p" 2>/dev/null

# 5. namespaces: persistent mount/UTS handles, then network namespaces (deleting
#    a netns destroys its veth ends; the hub netns takes the bridge with it)
for f in "$SWT_RUN"/ns/*.mnt "$SWT_RUN"/ns/*.uts; do
  [ -e "$f" ] && { umount "$f" 2>/dev/null || umount -l "$f" 2>/dev/null; }
done
mountpoint -q "$SWT_RUN/ns" && umount "$SWT_RUN/ns"
for i in $NODES; do ip netns del "$SWT_NS-n$i"; done
[ -e "/run/netns/$SWT_NS-hub" ] && ip netns del "$SWT_NS-hub"
ip link show "$SWT_NS-host" >/dev/null 2>&1 && ip link del "$SWT_NS-host"

# 6. cgroups created for --cgroup-parent /$SWT_CGROUP/n<i> (depth-first rmdir)
for d in /sys/fs/cgroup/*/"$SWT_CGROUP" /sys/fs/cgroup/"$SWT_CGROUP"; do
  [ -d "$d" ] && find "$d" -depth -type d -exec rmdir {} \; 2>/dev/null
done

# 7. /run/netns: ip-netns made it a shared bind mount; undo if we created it and
#    nobody else uses it now
if [ -d /run/netns ] && [ ! -e "$SWT_RUN/had-run-netns" ] && [ -z "$(ls -A /run/netns)" ]; then
  umount /run/netns 2>/dev/null; rmdir /run/netns 2>/dev/null
fi

# 8. state and data
rm -rf "$SWT_RUN" "$SWT_DATA"
swt_log "stackctl test cluster removed"
exit 0
