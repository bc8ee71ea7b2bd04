#!/usr/bin/env bash
# Build the stackctl agent image offline, FROM scratch, out of parts on this machine:
# the project's wheel and its runtime dependencies (pip, from the index pip is
# configured with), the Python interpreter that runs ./.venv with its standard library,
# git, busybox-static as /bin/sh, CA certificates, and exactly the shared libraries
# `ldd` says those binaries need.
#
#   deploy/agent/build-image.sh [TAG]     # default TAG: stackctl-agent:<version>
#
# Needs: ./dev cluster (the venv, docker, busybox-static, git). Prints the tag.
#
# A build takes minutes (mostly pip); its result is cached by content: the image is
# also tagged stackctl-agent-cache:<hash of every input>, and a later run whose inputs
# hash the same (the project's files, this script, the interpreter, the installed
# dependency versions, git, busybox) only tags that image. STACKCTL_AGENT_REBUILD=1
# builds anyway.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
VENV_PY="$ROOT/.venv/bin/python"
[ -x "$VENV_PY" ] || { echo "ERROR: no .venv; run ./dev cluster first" >&2; exit 1; }
VERSION=$("$VENV_PY" -c 'import stackctl; print(stackctl.__version__)')
TAG=${1:-stackctl-agent:$VERSION}

log() { printf '==> %s\n' "$*" >&2; }

# -- the content cache ---------------------------------------------------------------
inputs_hash() {
  {
    (cd "$ROOT" && find stackctl schemas pyproject.toml deploy/agent/build-image.sh \
      -type f ! -path '*/__pycache__/*' ! -name '*.pyc' -print0 | LC_ALL=C sort -z |
      xargs -0 sha256sum)
    "$VENV_PY" -c 'import sys; print(sys.version)'
    "$VENV_PY" -m pip freeze --disable-pip-version-check --exclude-editable 2>/dev/null
    git --version
    sha256sum /bin/busybox "$(command -v git)"
  } | sha256sum | cut -c1-16
}
CACHE_TAG="stackctl-agent-cache:$(inputs_hash)"
if [ "${STACKCTL_AGENT_REBUILD:-0}" != 1 ] && docker image inspect "$CACHE_TAG" >/dev/null 2>&1; then
  log "inputs unchanged: reusing $CACHE_TAG"
  docker tag "$CACHE_TAG" "$TAG"
  echo "$TAG"
  exit 0
fi

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
ROOTFS="$WORK/rootfs"
mkdir -p "$ROOTFS"/{bin,tmp,etc/ssl/certs,opt/stackctl,var/lib/stackctl-agent,root}
chmod 1777 "$ROOTFS/tmp"

# -- the project and its runtime dependencies -------------------------------------
log "wheel of $ROOT and its runtime dependencies -> /opt/stackctl"
# from a clean copy of what the wheel is made of: an in-tree build would reuse ./build,
# where modules deleted from the source tree live on and would end up in the image
mkdir -p "$WORK/src"
tar -C "$ROOT" --exclude='__pycache__' --exclude='*.pyc' -cf - pyproject.toml README.md stackctl schemas |
  tar -C "$WORK/src" -xf -
"$VENV_PY" -m pip wheel -q --no-deps -w "$WORK/dist" "$WORK/src" >/dev/null
"$VENV_PY" -m pip install -q --no-compile --disable-pip-version-check \
  --target "$ROOTFS/opt/stackctl" "$WORK"/dist/stackctl-*.whl

# -- the interpreter and its standard library -------------------------------------
read -r PY_EXE PY_STDLIB PY_DYNLOAD < <("$VENV_PY" - <<'EOF'
import os, sys, sysconfig
exe = os.path.realpath(os.path.join(sys.base_prefix, "bin", f"python{sys.version_info[0]}.{sys.version_info[1]}"))
if not os.path.exists(exe):
    exe = os.path.realpath(sys.executable)
stdlib = sysconfig.get_paths()["stdlib"]
dynload = os.path.join(stdlib, "lib-dynload")
print(exe, stdlib, dynload)
EOF
)
log "python: $PY_EXE (stdlib $PY_STDLIB)"
mkdir -p "$ROOTFS$(dirname "$PY_EXE")" "$ROOTFS$PY_STDLIB"
cp "$PY_EXE" "$ROOTFS$PY_EXE"
ln -sf "$PY_EXE" "$ROOTFS/bin/python3"
# the standard library without what a headless agent never imports
tar -C "$PY_STDLIB" --exclude='./test' --exclude='./idlelib' --exclude='./tkinter' \
  --exclude='./ensurepip' --exclude='./lib2to3' --exclude='./turtledemo' \
  --exclude='./site-packages' --exclude='./dist-packages' --exclude='__pycache__' \
  -cf - . | tar -C "$ROOTFS$PY_STDLIB" -xf -

# -- git ---------------------------------------------------------------------------
log "git: $(command -v git)"
mkdir -p "$ROOTFS/usr/bin" "$ROOTFS/usr/lib/git-core" "$ROOTFS/usr/share/git-core/templates"
cp "$(command -v git)" "$ROOTFS/usr/bin/git"
cp /usr/lib/git-core/git-remote-http "$ROOTFS/usr/lib/git-core/"
for alias in git git-upload-pack git-fetch-pack; do ln -sf /usr/bin/git "$ROOTFS/usr/lib/git-core/$alias"; done
ln -sf git-remote-http "$ROOTFS/usr/lib/git-core/git-remote-https"
if command -v ssh >/dev/null 2>&1; then cp "$(command -v ssh)" "$ROOTFS/usr/bin/ssh"; fi

# -- a shell, certificates, users --------------------------------------------------
cp /bin/busybox "$ROOTFS/bin/busybox"
for tool in sh env cat ls; do ln -sf busybox "$ROOTFS/bin/$tool"; done
cp -L /etc/ssl/certs/ca-certificates.crt "$ROOTFS/etc/ssl/certs/" 2>/dev/null || true
printf 'root:x:0:0:root:/root:/bin/sh\n' >"$ROOTFS/etc/passwd"
printf 'root:x:0:\n' >"$ROOTFS/etc/group"

# -- the shared libraries every ELF file above needs --------------------------------
log "shared libraries (ldd)"
find "$ROOTFS" -type f \( -perm -u+x -o -name '*.so*' \) -print0 |
  while IFS= read -r -d '' file; do
    head -c 4 "$file" | grep -q 'ELF' || continue
    ldd "$file" 2>/dev/null | awk '/=> \//{print $3} /^[ \t]*\/[^ ]*ld-linux/{print $1}' || true
  done | sort -u | while read -r lib; do
    [ -e "$ROOTFS$lib" ] && continue
    mkdir -p "$ROOTFS$(dirname "$lib")"
    cp -L "$lib" "$ROOTFS$lib"
  done

cat >"$WORK/Dockerfile" <<EOF
FROM scratch
COPY rootfs/ /
ENV PATH=/usr/bin:/bin PYTHONPATH=/opt/stackctl PYTHONDONTWRITEBYTECODE=1 \\
    GIT_EXEC_PATH=/usr/lib/git-core HOME=/root LANG=C.UTF-8
LABEL org.opencontainers.image.title="stackctl agent" org.opencontainers.image.version="$VERSION"
WORKDIR /var/lib/stackctl-agent
ENTRYPOINT ["$PY_EXE", "-m", "stackctl"]
CMD ["agent", "--config", "/etc/stackctl/agent.yml"]
EOF
log "docker build -t $TAG (FROM scratch, $(du -sh "$ROOTFS" | cut -f1))"
# the classic builder: no BuildKit/buildx needed, works offline FROM scratch
DOCKER_BUILDKIT=0 docker build -q -t "$TAG" -t "$CACHE_TAG" "$WORK" >/dev/null
# the cache keeps the three newest builds (an untag only: images still tagged otherwise stay)
docker images stackctl-agent-cache --format '{{.Repository}}:{{.Tag}}' | tail -n +4 |
  xargs -r docker rmi >/dev/null 2>&1 || true
echo "$TAG"
