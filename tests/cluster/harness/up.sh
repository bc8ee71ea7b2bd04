#!/usr/bin/env bash
# up.sh - start stackctl's real multi-node Docker Swarm on ONE Linux host (tests/cluster).
# Adapted from ../shared/multinode/swarm-up.sh; names and paths are in lib.sh.
#
# Every "node" is an independent dockerd (+ its own managed containerd) running in
# its own network namespace (own IP, own iptables, own docker0/docker_gwbridge,
# own VXLAN endpoint), its own mount namespace (own /sys, resolv.conf) and UTS
# namespace (hostname stk-node<i>).  The nodes are wired to a Linux bridge that
# lives in a separate "hub" namespace, so the host's iptables are never touched.
# Nodes have NO default route: they can only reach each other (and $SWT_NET.1).
#
# Images: the nodes pull from the project's registry (./dev cluster runs it on the
# host's 127.0.0.1:5000) at $SWT_NET.1:5000, a forward on the host end of the hub
# link, trusted by every node's dockerd as an insecure (plain HTTP) registry.
# The system dockerd (/var/run/docker.sock, /var/lib/docker) is only read: the
# local-only demo names (stackctl-demo/web:1, ...) are copied from it into every
# node (docker save | docker load) for the tests that deploy them by those names.
#
# Usage:  sudo tests/cluster/harness/up.sh      (env knobs: see lib.sh)
# Then:   docker -H unix:///run/stackctl-cluster/node1.sock node ls
# Tear down with down.sh (also after a failed start).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"

T0=$(date +%s.%N)
[ "$(id -u)" = 0 ] || swt_die "must run as root"
for c in ip nsenter unshare setsid dockerd docker; do
  command -v "$c" >/dev/null || swt_die "missing command: $c"
done
[ -e "$SWT_RUN" ] && swt_die "$SWT_RUN exists - already up? run down.sh first"
[ "$SWT_MANAGERS" -ge 1 ] && [ "$SWT_MANAGERS" -le "$SWT_NODES" ] || swt_die "bad SWT_MANAGERS"

mkdir -p "$SWT_RUN/ns" "$SWT_DATA"
# remember whether /run/netns existed, so down.sh can restore the host exactly
[ -d /run/netns ] && : > "$SWT_RUN/had-run-netns"
# On failure, leave everything in place for inspection; swarm-down.sh cleans up.
trap 'swt_log "up.sh FAILED (inspect $SWT_DATA/n*/dockerd.log, then run down.sh)"' ERR

# ---------------------------------------------------------------- network ----
swt_log "creating hub bridge + $SWT_NODES node namespaces on $SWT_NET.0/24"
ip netns add "$SWT_NS-hub"
ip -n "$SWT_NS-hub" link set lo up
ip -n "$SWT_NS-hub" link add br0 type bridge
ip -n "$SWT_NS-hub" link set br0 up
if [ "$SWT_HOST_LINK" = 1 ]; then
  # host <-> hub veth: lets tests on the host reach host-mode published ports
  # (e.g. wget http://10.99.0.12:8080).  Only a connected /24 route is added.
  ip link add "$SWT_NS-host" type veth peer name h0 netns "$SWT_NS-hub"
  ip -n "$SWT_NS-hub" link set h0 master br0 up
  ip addr add "$SWT_NET.1/24" dev "$SWT_NS-host"
  ip link set "$SWT_NS-host" up
else
  ip -n "$SWT_NS-hub" addr add "$SWT_NET.1/24" dev br0   # so $SWT_NET.1 (DNS below) exists
fi
# The nodes have no DNS. A name lookup must fail at once: the engine looks up docker.io
# for every image name without a registry (a digest lookup of stackctl-demo/web:1, a
# task's pull of it). With "nameserver $SWT_NET.1" (the host end of the link, where no
# DNS listens) each such lookup took 5.0 s, the resolver's timeout; on the node's own
# loopback the refusal is immediate (3 ms).
printf 'nameserver 127.0.0.1\noptions attempts:1\n' > "$SWT_RUN/resolv.conf"

if [ -n "$SWT_REGISTRY" ]; then
  swt_log "registry $SWT_REGISTRY reachable from the nodes at $(swt_registry)"
  swt_start_forward
fi

# Replayable list of the host's cgroup mounts ("mountpoint fstype source options")
awk '$5 ~ /^\/sys\/fs\/cgroup(\/|$)/ { for (k = 7; k <= NF; k++) if ($k == "-") break;
     print $5, $(k+1), $(k+2), $6 "," $(k+3) }' /proc/self/mountinfo > "$SWT_RUN/cgroup-mounts"

for i in $(seq "$SWT_NODES"); do
  ip netns add "$SWT_NS-n$i"
  ip -n "$SWT_NS-hub" link add "v$i" type veth peer name eth0 netns "$SWT_NS-n$i"
  ip -n "$SWT_NS-hub" link set "v$i" master br0 up
  ip -n "$SWT_NS-n$i" link set lo up
  ip -n "$SWT_NS-n$i" addr add "$(swt_ip "$i")/24" dev eth0
  ip -n "$SWT_NS-n$i" link set eth0 up

  # Persistent mount + UTS namespace for node i, created from inside its netns:
  #  - fresh sysfs (so /sys/class/net shows the node's interfaces, not the host's)
  #  - re-mount the cgroup hierarchies (the new sysfs hides them)
  #  - private /etc/resolv.conf (no DNS; lookups fail at once)
  #  - drop copies of host docker/netns mounts so nodes never pin host objects
  mkdir -p "$SWT_RUN/n$i"
  touch "$SWT_RUN/ns/n$i.mnt" "$SWT_RUN/ns/n$i.uts"
  nsenter --net="/run/netns/$SWT_NS-n$i" unshare --mount="$SWT_RUN/ns/n$i.mnt" \
    --uts="$SWT_RUN/ns/n$i.uts" --propagation slave /bin/sh -ec '
      run=$1; host=$2
      hostname "$host"
      umount -l /sys
      mount -t sysfs sysfs /sys
      while read mnt type src opts; do
        mkdir -p "$mnt"; mount -t "$type" -o "$opts" "$src" "$mnt"
      done < "$run/cgroup-mounts"
      mount --bind "$run/resolv.conf" /etc/resolv.conf
      awk "{print \$5}" /proc/self/mountinfo |
        grep -E "^(/var/lib/docker|/run/docker/netns/|/run/netns|$run/ns)" | sort -r |
        while read m; do umount -l "$m" 2>/dev/null || true; done
    ' sh "$SWT_RUN" "$SWT_NS-node$i"
done
T_NET=$(date +%s.%N)

# ---------------------------------------------------------------- daemons ----
swt_log "starting $SWT_NODES dockerd instances"
for i in $(seq "$SWT_NODES"); do swt_start_dockerd "$i"; done
for i in $(seq "$SWT_NODES"); do swt_wait_dockerd "$i"; done
T_DAEMONS=$(date +%s.%N)

# ------------------------------------------------------------------ swarm ----
swt_log "swarm init on node1 ($(swt_ip 1)), joining the others"
swt_d 1 swarm init --advertise-addr "$(swt_ip 1)" --listen-addr "$(swt_ip 1):2377" \
  --data-path-addr "$(swt_ip 1)" --dispatcher-heartbeat "$SWT_HEARTBEAT" >/dev/null
MTOKEN=$(swt_d 1 swarm join-token -q manager)
WTOKEN=$(swt_d 1 swarm join-token -q worker)
join() {  # join node $1 with token $2
  swt_d "$1" swarm join --token "$2" --advertise-addr "$(swt_ip "$1")" \
    --listen-addr "$(swt_ip "$1"):2377" --data-path-addr "$(swt_ip "$1")" "$(swt_ip 1):2377" >/dev/null
}
# managers one after the other (raft membership changes are serialised) ...
for i in $(seq 2 "$SWT_MANAGERS"); do join "$i" "$MTOKEN"; done
# ... workers in parallel
pids=()
for i in $(seq $((SWT_MANAGERS + 1)) "$SWT_NODES"); do join "$i" "$WTOKEN" & pids+=($!); done
for p in "${pids[@]}"; do wait "$p"; done

for t in $(seq $((SWT_TIMEOUT * 2))); do
  ready=$(swt_d 1 node ls --format '{{.Status}}' | grep -c '^Ready$' || true)
  [ "$ready" = "$SWT_NODES" ] && break
  sleep 0.5
done
[ "$ready" = "$SWT_NODES" ] || swt_die "only $ready/$SWT_NODES nodes Ready"
T_SWARM=$(date +%s.%N)

# ----------------------------------------------------------------- images ----
# The local-only names (no registry in them) cannot be pulled: copy them from the
# local (system) engine into every node, so every node has the same image IDs. The
# system engine is only read (docker save). Registry images are pulled by the nodes.
swt_log "loading into every node: $SWT_IMAGES"
# shellcheck disable=SC2086
docker save $SWT_IMAGES -o "$SWT_DATA/images.tar"
pids=()
for i in $(seq "$SWT_NODES"); do swt_d "$i" load -q -i "$SWT_DATA/images.tar" >/dev/null & pids+=($!); done
for p in "${pids[@]}"; do wait "$p"; done
rm -f "$SWT_DATA/images.tar"
T_IMAGES=$(date +%s.%N)

# ------------------------------------------------------------------- done ----
{
  for i in $(seq "$SWT_NODES"); do echo "export SWT_NODE$i=$(swt_sock "$i")"; done
  echo "export DOCKER_HOST=$(swt_sock 1)"
  if [ -n "$SWT_REGISTRY" ]; then echo "export SWT_NODE_REGISTRY=$(swt_registry)"; fi
} > "$SWT_RUN/env"
trap - ERR
swt_d 1 node ls >&2
awk -v a="$T0" -v b="$T_NET" -v c="$T_DAEMONS" -v d="$T_SWARM" -v e="$T_IMAGES" 'BEGIN {
  printf "timings: netns %.1fs, dockerds %.1fs, swarm %.1fs, images %.1fs, total %.1fs\n",
         b-a, c-b, d-c, e-d, e-a }' >&2
echo "swarm up: . $SWT_RUN/env ; docker node ls   (node i = $(swt_sock '<i>'), ip $SWT_NET.1<i>)" >&2
