#!/usr/bin/env bash
# A BuildFarm cluster on this machine, one process per node, on loopback: the S3 server (scripts/s3-server.sh),
# M coordinators (gRPC API 127.0.0.1:8740+i, remoting 8750+i; the first is the seed) and N workers, each with its
# own home under $BUILDFARM_CLUSTER_DIR, sharing one bucket and one remoting certificate.
#
# usage: cluster.sh up [--coordinators M] [--workers N]    (defaults 1 and 2; prints "coordinator: 127.0.0.1:PORT")
#        cluster.sh status                                 (the coordinators, and the workers as the first one lists them)
#        cluster.sh down                                   (SIGTERM by PID, KILL after 30 s; stops S3; unmounts leftovers)
# Every command is idempotent: `up` starts only what is not running, `down` on a stopped cluster does nothing.
# env:
#   BUILDFARM_CLUSTER_DIR   state folder (default ~/.buildfarm-cluster): homes, logs (*.log), PIDs (*.pid), farm.p12, s3/
#   BUILDFARM_DLL           the buildfarm.dll to run (default: out/buildfarm, else cli/bin/Release, built when missing)
#   BUILDFARM_READY_TIMEOUT seconds to wait for each node's ready line (default 90)
#   S3_PORT, S3_MON_PORT, S3_MON_V1_PORT   ports of the S3 server (scripts/s3-server.sh defaults: 7480, 3300, 6789)
set -euo pipefail
REPO=$(cd "$(dirname "$0")/../.." && pwd)
DIR=${BUILDFARM_CLUSTER_DIR:-$HOME/.buildfarm-cluster}
READY_TIMEOUT=${BUILDFARM_READY_TIMEOUT:-90}
API_BASE=8740
REMOTING_BASE=8750
export S3_DIR=$DIR/s3
S3_PORT=${S3_PORT:-7480}
export S3_PORT
AK=${S3_ACCESS_KEY:-buildfarmaccesskey000}
SK=${S3_SECRET_KEY:-buildfarmsecretkey0000000000000000000000}

die() { echo "cluster.sh: $*" >&2; exit 1; }
# A process that exited but was not reaped yet (a zombie: nodes outlive this script) counts as gone.
running() { local state; state=$(ps -o stat= -p "$1" 2>/dev/null) && [ -n "$state" ] && [ "${state:0:1}" != Z ]; }
alive() { local pid; pid=$(cat "$DIR/$1.pid" 2>/dev/null) && [ -n "$pid" ] && running "$pid"; }
nodes() { local f; for f in "$DIR"/$1-*.pid; do [ -e "$f" ] && basename "$f" .pid; done; return 0; }

buildfarm_dll() {
  if [ -n "${BUILDFARM_DLL:-}" ]; then echo "$BUILDFARM_DLL"; return; fi
  local dll
  for dll in "$REPO/out/buildfarm/buildfarm.dll" "$REPO/cli/bin/Release/net10.0/buildfarm.dll"; do
    [ -f "$dll" ] && { echo "$dll"; return; }
  done
  dotnet build "$REPO/cli/BuildFarm.Cli.csproj" -c Release -nologo -v q >&2 || die "could not build the buildfarm command"
  echo "$REPO/cli/bin/Release/net10.0/buildfarm.dll"
}

# One PKCS#12 certificate (with its key, mode 0600) that every node of this farm presents and trusts.
certificate() {
  local p12=$DIR/farm.p12
  [ -f "$p12" ] && { echo "$p12"; return; }
  command -v openssl >/dev/null || die "openssl is not installed (apt-get install openssl)"
  local tmp; tmp=$(mktemp -d)
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 3650 -subj /CN=buildfarm-remoting \
    -addext "keyUsage=critical,digitalSignature" -addext "extendedKeyUsage=serverAuth,clientAuth" \
    -keyout "$tmp/key.pem" -out "$tmp/cert.pem" 2>/dev/null || { rm -rf "$tmp"; die "openssl could not make the remoting certificate"; }
  (umask 077; openssl pkcs12 -export -inkey "$tmp/key.pem" -in "$tmp/cert.pem" -out "$p12.tmp" -passout pass:) \
    || { rm -rf "$tmp"; die "openssl could not write $p12"; }
  rm -rf "$tmp"
  chmod 600 "$p12.tmp" && mv "$p12.tmp" "$p12"
  echo "$p12"
}

# start NAME ARGS...: the node in the background with its own home and log, unless it already runs.
start() {
  local name=$1; shift
  if alive "$name"; then return 0; fi
  mkdir -p "$DIR/$name"
  : > "$DIR/$name.log"
  # setsid: the node outlives this script and a Ctrl+C in the caller's terminal.
  BUILDFARM_HOME=$DIR/$name setsid dotnet "$DLL" "$@" >"$DIR/$name.log" 2>&1 </dev/null &
  echo $! > "$DIR/$name.pid"
}

# wait_ready NAME PREFIX: until the log has the ready line; a node that dies or takes too long fails `up`.
wait_ready() {
  local name=$1 prefix=$2 i
  for i in $(seq 1 $((READY_TIMEOUT * 10))); do
    grep -q "^$prefix" "$DIR/$name.log" 2>/dev/null && return 0
    alive "$name" || break
    sleep 0.1
  done
  echo "cluster.sh: $name is not ready ($(alive "$name" && echo "no ready line within $READY_TIMEOUT s" || echo "it exited")); last lines of $DIR/$name.log:" >&2
  tail -n 20 "$DIR/$name.log" >&2
  exit 1
}

print_coordinators() {
  local name
  for name in $(nodes coordinator); do
    alive "$name" && echo "coordinator: 127.0.0.1:$((API_BASE + ${name#coordinator-}))"
  done
  return 0
}

up() {
  local coordinators=1 workers=2
  while [ $# -gt 0 ]; do
    case "$1" in
      --coordinators) coordinators=${2:-}; shift 2 || die "--coordinators needs a number";;
      --workers) workers=${2:-}; shift 2 || die "--workers needs a number";;
      *) die "up: unknown option $1 (usage: cluster.sh up [--coordinators M] [--workers N])";;
    esac
  done
  [[ "$coordinators" =~ ^[1-9][0-9]?$ ]] || die "--coordinators $coordinators: expected a number from 1 to 10"
  [ "$coordinators" -le 10 ] || die "--coordinators $coordinators: expected a number from 1 to 10"
  [[ "$workers" =~ ^[0-9]+$ ]] || die "--workers $workers: expected a number from 0"
  mkdir -p "$DIR"
  DLL=$(buildfarm_dll)
  if ! "$REPO/scripts/s3-server.sh" status 2>/dev/null; then
    # Leftovers of a run that was not taken down (a memstore keeps nothing anyway and wants a fresh folder).
    if [ -d "$S3_DIR" ] && [ "${S3_STORE:-memstore}" = memstore ]; then
      "$REPO/scripts/s3-server.sh" stop >/dev/null 2>&1 || true
      rm -rf "$S3_DIR"
    fi
    "$REPO/scripts/s3-server.sh" start >"$DIR/s3.log" 2>&1 \
      || { tail -n 20 "$DIR/s3.log" >&2; die "the S3 server did not start (log: $DIR/s3.log)"; }
  fi
  export BUILDFARM_REMOTING_CERT; BUILDFARM_REMOTING_CERT=$(certificate)
  export BUILDFARM_CACHE="s3://buildfarm?endpoint=http://127.0.0.1:$S3_PORT"
  export AWS_ACCESS_KEY_ID=$AK AWS_SECRET_ACCESS_KEY=$SK
  unset BUILDFARM_SEEDS
  local i seeds=""
  for i in $(seq 0 $((coordinators - 1))); do
    seeds+="${seeds:+,}127.0.0.1:$((REMOTING_BASE + i))"
  done
  # The first coordinator is the seed: it forms the cluster; the others join it.
  start coordinator-0 coordinator --listen "127.0.0.1:$API_BASE" --remoting-port "$REMOTING_BASE"
  wait_ready coordinator-0 "buildfarm coordinator ready:"
  for i in $(seq 1 $((coordinators - 1))); do
    start "coordinator-$i" coordinator --listen "127.0.0.1:$((API_BASE + i))" --remoting-port "$((REMOTING_BASE + i))" \
      --seeds "127.0.0.1:$REMOTING_BASE"
  done
  for i in $(seq 0 $((workers - 1))); do
    start "worker-$i" worker --seeds "$seeds"
  done
  for i in $(seq 1 $((coordinators - 1))); do wait_ready "coordinator-$i" "buildfarm coordinator ready:"; done
  for i in $(seq 0 $((workers - 1))); do wait_ready "worker-$i" "buildfarm worker ready:"; done
  print_coordinators
}

status() {
  local running=0 name first=""
  print_coordinators
  for name in $(nodes coordinator); do
    alive "$name" && { running=1; [ -n "$first" ] || first=$((API_BASE + ${name#coordinator-})); }
  done
  [ "$running" = 1 ] || { echo "no coordinator is running (cluster.sh up starts one)"; return 0; }
  DLL=$(buildfarm_dll)
  dotnet "$DLL" workers --server "127.0.0.1:$first"
}

# stop_nodes NAME...: SIGTERM (a graceful leave), then KILL whatever still runs after 30 s.
stop_nodes() {
  local name pid i
  for name in "$@"; do alive "$name" && kill -TERM "$(cat "$DIR/$name.pid")" 2>/dev/null || true; done
  for name in "$@"; do
    pid=$(cat "$DIR/$name.pid" 2>/dev/null || true)
    [ -n "$pid" ] || continue
    for i in $(seq 1 300); do running "$pid" || break; sleep 0.1; done
    if running "$pid"; then
      echo "cluster.sh: $name ($pid) did not stop within 30 s: killing it" >&2
      kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -f "$DIR/$name.pid"
  done
}

down() {
  [ -d "$DIR" ] || return 0
  # Workers first: they hand their steps back while the coordinators are still there to take them.
  # shellcheck disable=SC2046
  stop_nodes $(nodes worker)
  # shellcheck disable=SC2046
  stop_nodes $(nodes coordinator)
  if [ -d "$S3_DIR" ]; then
    "$REPO/scripts/s3-server.sh" stop || true
    # A memstore (the default) keeps nothing across a stop, and wants a fresh state folder next time.
    [ "${S3_STORE:-memstore}" = memstore ] && rm -rf "$S3_DIR"
  fi
  # Overlay mounts a killed worker left behind, deepest first.
  local mount
  while read -r mount; do
    umount "$mount" 2>/dev/null || umount -l "$mount" 2>/dev/null || echo "cluster.sh: could not unmount $mount" >&2
  done < <(awk -v dir="$DIR/" 'index($2, dir) == 1 { print $2 }' /proc/self/mounts | sort -r)
  echo "cluster stopped (state kept in $DIR)"
}

case "${1:-}" in
  up) shift; up "$@";;
  status) status;;
  down) down;;
  *) echo "usage: $0 up [--coordinators M] [--workers N] | status | down" >&2; exit 2;;
esac
