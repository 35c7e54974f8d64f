#!/usr/bin/env bash
# BuildFarm side-by-side benchmarks: the one entry command. See bench/README.md.
#   bench/run.sh [--quick] [--repeats N] [--scenarios single12,cpu3,...] [--builders buildfarm,buildfarm_engine,buildkit,buildah] [--out FILE]
# Installs the peers from Debian packages (idempotent), builds the buildfarm CLI, starts a local
# registry and dockerd on 127.0.0.1 / private sockets, runs the scenarios, writes
# bench/results/<date>.md, and stops everything it started (trap), whatever happens.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(dirname "$HERE")
export BENCH_CACHE=${BENCH_CACHE:-/var/tmp/buildfarm-bench}

# --- peers and tools, from Debian packages (only what is missing) -------------------------------
need=()
want() { command -v "$1" >/dev/null 2>&1 || need+=("$2"); }
want buildah buildah
want dockerd docker.io
want debootstrap debootstrap
want runc runc
want busybox busybox-static
want skopeo skopeo
want umoci umoci
want docker-registry docker-registry
want python3 python3
if [ -f "$REPO/scripts/s3-server.sh" ]; then  # the S3-store row's server (radosgw)
  want radosgw radosgw; want ceph-mon ceph-mon; want ceph-osd ceph-osd; want curl curl
fi
if [ ${#need[@]} -gt 0 ]; then
  echo "bench: installing ${need[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # dpkg may be locked by a parallel install; wait for it rather than fail
  for i in $(seq 1 60); do
    apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null && break
    echo "bench: apt-get install failed (attempt $i); retrying in 5 s" >&2; sleep 5
  done
fi
[ -x /usr/bin/docker ] || { echo "bench: /usr/bin/docker (docker.io) missing" >&2; exit 1; }

# --- the buildfarm CLI -----------------------------------------------------------------------------
case " $* " in *" --builders "*) builders=$(echo " $* " | sed -E 's/.* --builders ([^ ]+).*/\1/');; *) builders=buildfarm;; esac
if [[ "$builders" == *buildfarm* ]] && [ "${BENCH_SKIP_DOTNET_BUILD:-0}" != 1 ]; then
  echo "bench: dotnet publish cli (Release, ReadyToRun) to out/buildfarm" >&2
  if ! out=$(cd "$REPO" && dotnet publish cli/BuildFarm.Cli.csproj -c Release --use-current-runtime --self-contained false \
      -o out/buildfarm -nologo -v q 2>&1); then
    export BENCH_BUILDFARM_BUILD_ERROR="dotnet publish of cli/ failed: $(echo "$out" | grep -m1 -E 'error' | cut -c1-200)"
    echo "bench: $BENCH_BUILDFARM_BUILD_ERROR" >&2
  fi
  # the resident-engine column runs `buildfarm` as README sets it up: the native client when it can be published
  if [[ "$builders" == *buildfarm_engine* ]]; then
    echo "bench: dotnet publish client (Native AOT) to out/buildfarm/bin" >&2
    (cd "$REPO" && dotnet publish client/BuildFarm.Client.csproj -c Release -o out/buildfarm/bin -nologo -v q >/dev/null 2>&1) \
      || { echo "bench: the native client did not publish (clang, zlib1g-dev?): the engine column uses the managed CLI" >&2; rm -f "$REPO/out/buildfarm/bin/buildfarm"; }
  fi
fi

# --- run, and clean up whatever happens -----------------------------------------------------------
export BENCH_TMP=$(mktemp -d /tmp/bfbench.XXXXXX)
cleanup() {
  rc=$?
  set +e +o pipefail
  if [ -f "$BENCH_TMP/s3.env" ] && [ -f "$REPO/scripts/s3-server.sh" ]; then
    ( set -a; . "$BENCH_TMP/s3.env"; bash "$REPO/scripts/s3-server.sh" stop >/dev/null 2>&1 )
  fi
  if [ -f "$BENCH_TMP/pids" ]; then
    while read -r pid; do
      kill -TERM -- "-$pid" 2>/dev/null || true
    done < "$BENCH_TMP/pids"
    sleep 1
    while read -r pid; do
      kill -KILL -- "-$pid" 2>/dev/null || true
    done < "$BENCH_TMP/pids"
  fi
  # resident engines the buildfarm_engine builder started (not in pids: they are detached on purpose)
  for record in "$BENCH_TMP"/*/engine.json; do
    [ -f "$record" ] && kill -TERM "$(grep -o '"pid": *[0-9]*' "$record" | grep -o '[0-9]*$')" 2>/dev/null || true
  done
  grep -o " $BENCH_TMP[^ ]*" /proc/self/mountinfo 2>/dev/null | sort -r | while read -r m; do umount -l "$m" 2>/dev/null || true; done
  rm -rf "$BENCH_TMP"
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM
python3 "$HERE/lib/bench.py" "$@"
