#!/usr/bin/env bash
# Only the cluster rows (bench/lib/cluster.py): BuildFarm as coordinator + worker processes on 127.0.0.1 over the
# S3 server, 1–3 workers on cpu3/fanin30, and the 24-build CI fan-out against BuildKit on one dockerd.
# Writes bench/results/<date>-cluster.md (+ .json). Run as root; stops everything it started, whatever happens.
#   bench/cluster.sh [--quick] [--repeats N]      (BENCH_SKIP_DOTNET_BUILD=1 reuses out/buildfarm)
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(dirname "$HERE")
export BENCH_CACHE=${BENCH_CACHE:-/var/tmp/buildfarm-bench}
"$REPO/scripts/install-deps.sh" >/dev/null
if [ "${BENCH_SKIP_DOTNET_BUILD:-0}" != 1 ] || [ ! -f "$REPO/out/buildfarm/buildfarm.dll" ]; then
  echo "bench: dotnet publish cli (Release, ReadyToRun) to out/buildfarm" >&2
  (cd "$REPO" && dotnet publish cli/BuildFarm.Cli.csproj -c Release --use-current-runtime --self-contained false \
      -o out/buildfarm -nologo -v q)
fi
export BENCH_TMP=$(mktemp -d /tmp/bfcluster.XXXXXX)
cleanup() {
  rc=$?
  set +e +o pipefail
  if [ -f "$BENCH_TMP/s3.env" ]; then
    ( set -a; . "$BENCH_TMP/s3.env"; bash "$REPO/scripts/s3-server.sh" stop >/dev/null 2>&1 )
  fi
  if [ -f "$BENCH_TMP/pids" ]; then
    while read -r pid; do kill -TERM -- "-$pid" 2>/dev/null || true; done < "$BENCH_TMP/pids"
    sleep 1
    while read -r pid; do kill -KILL -- "-$pid" 2>/dev/null || true; done < "$BENCH_TMP/pids"
  fi
  grep -o " $BENCH_TMP[^ ]*" /proc/self/mountinfo 2>/dev/null | sort -r | while read -r m; do umount -l "$m" 2>/dev/null || true; done
  rm -rf "$BENCH_TMP"
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM
python3 "$HERE/lib/cluster.py" "$@"
