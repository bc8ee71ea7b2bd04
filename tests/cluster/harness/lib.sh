# lib.sh - settings and helpers of stackctl's 3-node test cluster (tests/cluster).
# Sourced by up.sh / down.sh / node.sh; do not run it.
#
# Adapted from the reference scripts in ../shared/multinode (swarm-lib.sh). Every
# name differs from those (prefix stk-, own subnet, own paths, own cgroup), so this
# cluster can never collide with the system dockerd nor with a reference cluster.
#
# Layout:
#   netns  stk-hub            a "switch": Linux bridge br0 (no host iptables involved)
#   netns  stk-n<i>           node i: eth0 = $SWT_NET.(10+i)/24, NO default route
#   $SWT_NET.1:5000           the project's registry as the nodes see it: a TCP forward
#                             (socat, on the host end of the hub link) to $SWT_REGISTRY
#   $SWT_RUN/ns/n<i>.mnt|uts  persistent mount + UTS namespace of node i
#                             (own /sys for its netns, re-mounted cgroups,
#                              own /etc/resolv.conf, hostname stk-node<i>)
#   $SWT_RUN/node<i>.sock     Docker API of node i
#   $SWT_RUN/n<i>/exec        --exec-root (managed containerd lives here)
#   $SWT_DATA/n<i>/data       --data-root;  $SWT_DATA/n<i>/dockerd.log
#   cgroup /stackctl-cluster/n<i>  --cgroup-parent (every container process of node i)

SWT_NODES=${SWT_NODES:-3}           # number of nodes
SWT_MANAGERS=${SWT_MANAGERS:-1}     # first M nodes are managers (use 1 or 3)
SWT_NET=${SWT_NET:-10.98.0}         # private /24 that exists only on this machine
SWT_RUN=${SWT_RUN:-/run/stackctl-cluster}
SWT_DATA=${SWT_DATA:-/var/tmp/stackctl-cluster}
SWT_NS=stk                          # prefix of netns, veth and host names
SWT_CGROUP=stackctl-cluster         # cgroup parent directory
SWT_HOST_LINK=${SWT_HOST_LINK:-1}   # 1: host gets $SWT_NET.1 (reach published ports)
SWT_HEARTBEAT=${SWT_HEARTBEAT:-2s}  # swarm dispatcher heartbeat (default docker: 5s)
# The project's registry (./dev cluster runs it on the host's 127.0.0.1:5000). The nodes
# cannot reach the host's loopback, so up.sh forwards $SWT_NET.1:$SWT_REGISTRY_PORT to
# it, and every node's dockerd trusts that address as an insecure (plain HTTP)
# registry. Empty SWT_REGISTRY: no forward (tests that pull from it then fail).
SWT_REGISTRY=${SWT_REGISTRY-${STACKCTL_REGISTRY:-127.0.0.1:5000}}
SWT_REGISTRY_PORT=${SWT_REGISTRY_PORT:-5000}
# local-only images copied from the local engine into every node (docker save | docker
# load), for the tests that deploy them by their local name (stackctl-demo/web:1)
SWT_IMAGES=${SWT_IMAGES:-stackctl-demo/web:1 stackctl-demo/web:2 stackctl-demo/web:broken stackctl-demo/web:crash stackctl-demo/worker:1}
SWT_TIMEOUT=${SWT_TIMEOUT:-60}      # upper bound (s) for every wait loop
SWT_DOCKERD_OPTS=${SWT_DOCKERD_OPTS:-} # extra dockerd flags, e.g. --iptables=false

swt_ip()   { echo "$SWT_NET.$((10 + $1))"; }
swt_registry() { echo "$SWT_NET.1:$SWT_REGISTRY_PORT"; }   # registry address on the nodes
swt_sock() { echo "unix://$SWT_RUN/node$1.sock"; }
swt_d()    { local i=$1; shift; docker -H "$(swt_sock "$i")" "$@"; }
swt_log()  { printf '[%s] %s\n' "$(date +%T)" "$*" >&2; }
swt_die()  { swt_log "ERROR: $*"; exit 1; }

# PID of node i's dockerd (empty if not running)
swt_dockerd_pid() {
  local f="$SWT_RUN/n$1/dockerd.pid" p
  [ -s "$f" ] || return 0
  p=$(cat "$f")
  # only trust the pidfile if that process really is a dockerd in node i's netns
  if [ -d "/proc/$p" ] && [ "$(readlink "/proc/$p/ns/net" 2>/dev/null)" = "$(swt_nsid net "$1")" ] \
     && grep -q '^dockerd' "/proc/$p/comm" 2>/dev/null; then echo "$p"; fi
}

# "net:[inode]" / "mnt:[inode]" identifier of node i's namespaces
swt_nsid() {
  local f
  case $1 in net) f=/run/netns/$SWT_NS-n$2 ;; mnt) f=$SWT_RUN/ns/n$2.mnt ;; esac
  # a mount-ns handle is only valid while bind-mounted (else it is a plain file)
  if [ -e "$f" ] && [ "$(stat -f -c %T "$f" 2>/dev/null)" = nsfs ]; then
    echo "$1:[$(stat -L -c %i "$f")]"
  fi
  return 0
}

# All PIDs that belong to node i, i.e. that we started: processes living in
# node i's network or mount namespace (dockerd, containerd, shims, execs) plus
# every process in node i's cgroup (the containers themselves).
swt_node_pids() {
  local i=$1 net mnt p f
  net=$(swt_nsid net "$i"); mnt=$(swt_nsid mnt "$i")
  for p in /proc/[0-9]*; do
    p=${p#/proc/}
    if [ "$p" = "$$" ] || [ "$p" = "$BASHPID" ]; then continue; fi
    if { [ -n "$net" ] && [ "$(readlink "/proc/$p/ns/net" 2>/dev/null)" = "$net" ]; } ||
       { [ -n "$mnt" ] && [ "$(readlink "/proc/$p/ns/mnt" 2>/dev/null)" = "$mnt" ]; }; then
      echo "$p"
    fi
  done
  swt_cgroup_pids "$i"
  return 0
}

# PIDs in node i's cgroup subtree (= its containers' processes)
swt_cgroup_pids() {
  local f
  for f in /sys/fs/cgroup/pids/$SWT_CGROUP/n"$1" /sys/fs/cgroup/unified/$SWT_CGROUP/n"$1" \
           /sys/fs/cgroup/$SWT_CGROUP/n"$1"; do
    if [ -d "$f" ]; then find "$f" -name cgroup.procs -exec cat {} + 2>/dev/null || true; fi
  done | sort -un
}

# Start (or restart) node i's dockerd inside its namespaces. Returns at once.
swt_start_dockerd() {
  local i=$1
  [ -n "$(swt_dockerd_pid "$i")" ] && { swt_log "node$i dockerd already running"; return 0; }
  mkdir -p "$SWT_RUN/n$i" "$SWT_DATA/n$i"
  rm -f "$SWT_RUN/n$i/dockerd.pid"
  # setsid: detach from the caller's session so the daemon outlives this script.
  # env -i: no proxy variables etc. leak in. Swarm tasks pull their image like on any
  # node (a digest-pinned image already present is not pulled again); a local-only
  # name (stackctl-demo/web:1) fails its pull at once (docker.io is not resolvable,
  # see resolv.conf in up.sh) and the task runs the loaded image.
  # --insecure-registry: the project's registry speaks plain HTTP; the engine trusts
  # only 127.0.0.0/8 that way by default, and the nodes reach it at $SWT_NET.1.
  ( cd / && exec setsid nsenter --net="/run/netns/$SWT_NS-n$i" --mount="$SWT_RUN/ns/n$i.mnt" \
      --uts="$SWT_RUN/ns/n$i.uts" \
      env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
      dockerd -H "$(swt_sock "$i")" --insecure-registry "$(swt_registry)" \
        --data-root "$SWT_DATA/n$i/data" --exec-root "$SWT_RUN/n$i/exec" \
        --pidfile "$SWT_RUN/n$i/dockerd.pid" --cgroup-parent "/$SWT_CGROUP/n$i" \
        --storage-driver overlay2 --userland-proxy=false --log-level info $SWT_DOCKERD_OPTS \
      >>"$SWT_DATA/n$i/dockerd.log" 2>&1 </dev/null ) &
}

# Wait until node i answers on its socket.
swt_wait_dockerd() {
  local i=$1 t
  for t in $(seq $((SWT_TIMEOUT * 4))); do
    swt_d "$i" version --format '{{.Server.Version}}' >/dev/null 2>&1 && return 0
    sleep 0.25
  done
  tail -20 "$SWT_DATA/n$i/dockerd.log" >&2
  swt_die "node$i dockerd did not come up within ${SWT_TIMEOUT}s"
}

# PID of the registry forward up.sh started (empty if not running). socat runs in the
# host's namespaces (it must reach the host's loopback), so it is found by its pidfile,
# checked against its command name.
swt_forward_pid() {
  local f="$SWT_RUN/registry-forward.pid" p
  [ -s "$f" ] || return 0
  p=$(cat "$f")
  if [ -d "/proc/$p" ] && grep -q '^socat' "/proc/$p/comm" 2>/dev/null; then echo "$p"; fi
}

# Forward $(swt_registry) (host end of the hub link) to $SWT_REGISTRY; returns once
# the registry answers through it.
swt_start_forward() {
  local t
  [ "$SWT_HOST_LINK" = 1 ] || swt_die "the registry forward needs SWT_HOST_LINK=1 (SWT_REGISTRY= for none)"
  for t in socat curl; do command -v "$t" >/dev/null || swt_die "missing command: $t (./dev cluster installs it)"; done
  # setsid: own process group, so down.sh ends the listener and its per-connection
  # children together
  ( cd / && exec setsid socat "TCP-LISTEN:$SWT_REGISTRY_PORT,bind=$SWT_NET.1,reuseaddr,fork" \
      "TCP:$SWT_REGISTRY" </dev/null >>"$SWT_DATA/registry-forward.log" 2>&1 ) &
  echo $! > "$SWT_RUN/registry-forward.pid"
  for t in $(seq $((SWT_TIMEOUT * 4))); do
    curl -fsS -m 2 -o /dev/null "http://$(swt_registry)/v2/" 2>/dev/null && return 0
    sleep 0.25
  done
  swt_die "the registry $SWT_REGISTRY does not answer through http://$(swt_registry)/v2/ (./dev cluster starts it)"
}
