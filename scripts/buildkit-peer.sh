#!/usr/bin/env bash
# BuildKit as a reference peer on this Debian 12 machine: Debian 13's dockerd 26.1 (BuildKit built in) and buildx
# 0.13, fetched through a private apt configuration (own sources list naming trixie, own lists and cache), unpacked
# with dpkg -x under $BUILDKIT_PEER_DIR (never installed), and run with their own data root and socket.
#   scripts/buildkit-peer.sh start    # idempotent; prints: export DOCKER_HOST=... DOCKER_CONFIG=... PATH=...
#   scripts/buildkit-peer.sh stop     # stops the dockerd this script started (by its PID file)
#   scripts/buildkit-peer.sh status   # prints running/stopped and the versions
#   scripts/buildkit-peer.sh env      # prints the export line without starting anything
#   scripts/buildkit-peer.sh unpack   # idempotent; only fetches and unpacks (install-deps.sh does this for the tests)
# Build with `docker buildx build --network none -t x:1 CTX`, export with `docker save x:1 -o x.tar`
# (the docker driver has no `-o type=oci`).
set -euo pipefail
DIR=${BUILDKIT_PEER_DIR:-/var/tmp/buildfarm-buildkit-peer}
R=$DIR/root; RUN=$DIR/run
env_line() { echo "export DOCKER_HOST=unix://$RUN/docker.sock DOCKER_CONFIG=$RUN/cfg PATH=$R/usr/bin:$R/usr/sbin:\$PATH"; }
running() { [ -f "$RUN/dockerd.pid" ] && kill -0 "$(cat "$RUN/dockerd.pid")" 2>/dev/null; }

unpack() {
  [ -x "$R/usr/sbin/dockerd" ] && [ -x "$R/usr/libexec/docker/cli-plugins/docker-buildx" ] && return 0
  local uri
  uri=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
  [ -n "$uri" ] || uri=$(awk '$1=="deb" && $0 ~ /bookworm/ {for(i=2;i<=NF;i++) if ($i ~ /^https?:/) {print $i; exit}}' /etc/apt/sources.list 2>/dev/null || true)
  [ -n "$uri" ] || { echo "buildkit-peer: no Debian mirror found in /etc/apt/sources.list(.d)" >&2; exit 1; }
  local A=$DIR/apt
  mkdir -p "$A/lists/partial" "$A/cache/archives/partial" "$DIR/debs" "$R"
  echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $uri trixie main" > "$A/sources.list"
  local O=(-o "Dir::Etc::sourcelist=$A/sources.list" -o Dir::Etc::sourceparts=/nonexistent
           -o "Dir::State::Lists=$A/lists" -o "Dir::Cache=$A/cache")
  apt-get "${O[@]}" update -qq
  (cd "$DIR/debs" && apt-get "${O[@]}" download docker.io docker-cli containerd docker-buildx tini 2>&1 | grep -v unsandboxed || true)
  local f
  for f in "$DIR"/debs/*.deb; do dpkg -x "$f" "$R"; done
  [ -x "$R/usr/sbin/dockerd" ] || { echo "buildkit-peer: dockerd missing after unpacking $DIR/debs" >&2; exit 1; }
}

case ${1:-start} in
stop)
  if running; then kill "$(cat "$RUN/dockerd.pid")"; for _ in $(seq 40); do running || break; sleep 0.25; done; echo "dockerd stopped"
  else echo "not running"; fi
  exit 0 ;;
env) env_line; exit 0 ;;
status)
  if running; then echo "running (pid $(cat "$RUN/dockerd.pid"))"; else echo "stopped"; fi
  [ -x "$R/usr/sbin/dockerd" ] && "$R/usr/sbin/dockerd" --version && DOCKER_CONFIG=$RUN/cfg "$R/usr/libexec/docker/cli-plugins/docker-buildx" version 2>/dev/null || true
  exit 0 ;;
unpack) unpack; exit 0 ;;
start) ;;
*) echo "usage: $0 start|stop|status|env|unpack" >&2; exit 2 ;;
esac

unpack
command -v runc >/dev/null || apt-get install -y -qq runc >/dev/null
mkdir -p "$RUN/data" "$RUN/exec" "$RUN/cfg/cli-plugins"
cp "$R/usr/libexec/docker/cli-plugins/docker-buildx" "$RUN/cfg/cli-plugins/"
export PATH="$R/usr/bin:$R/usr/sbin:$PATH"
if ! running; then
  rm -f "$RUN/docker.sock"
  # The daemon outlives whoever starts it: never leave it in that caller's folder (a removed working directory makes
  # BuildKit's git source fail with "git error: exit status 128").
  cd /
  setsid dockerd --data-root "$RUN/data" --exec-root "$RUN/exec" --pidfile "$RUN/dockerd.pid" -H "unix://$RUN/docker.sock" \
    --iptables=false --ip6tables=false --bridge=none --containerd-namespace bfpeer --containerd-plugins-namespace bfpeerp \
    > "$RUN/dockerd.log" 2>&1 < /dev/null &
  for _ in $(seq 120); do [ -S "$RUN/docker.sock" ] && DOCKER_HOST=unix://$RUN/docker.sock docker version >/dev/null 2>&1 && break; sleep 0.5; done
fi
DOCKER_HOST=unix://$RUN/docker.sock docker version >/dev/null 2>&1 || { echo "buildkit-peer: dockerd did not start; see $RUN/dockerd.log" >&2; exit 1; }
env_line
