#!/usr/bin/env bash
# Load test: N concurrent builds (default 100) of mixed Dockerfiles — six kinds sharing one base stage, so most
# builds have an identical twin running at the same moment — through one `buildfarm serve`.
# Writes bench/results/<date>-load.md: wall time, outcomes, how often the RUNs really executed (each distinct step
# should run once; the RUNs count themselves in a shared cache mount), and the server's peak memory (VmHWM).
# A build that does not end within the deadline counts as a hang.
# Usage: bench/load.sh [N]   (BENCH_LOAD_DEADLINE seconds, default 1200; BENCH_SKIP_DOTNET_BUILD=1 reuses out/buildfarm)
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-100}
deadline=${BENCH_LOAD_DEADLINE:-1200}
./scripts/install-deps.sh
if [ -z "${BENCH_SKIP_DOTNET_BUILD:-}" ] || [ ! -f out/buildfarm/buildfarm.dll ]; then
  dotnet publish cli/BuildFarm.Cli.csproj -c Release --use-current-runtime --self-contained false -o out/buildfarm -nologo -v q
fi
cli="$PWD/out/buildfarm/buildfarm.dll"
work=$(mktemp -d /var/tmp/bf-load.XXXXXX)
server_pid=""
cleanup() {
  if [ -n "$server_pid" ]; then kill -TERM "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

./scripts/make-busybox-rootfs.sh "$work/rootfs.tar" >/dev/null
kinds=6
for k in $(seq 0 $((kinds - 1))); do
  mkdir -p "$work/ctx$k"
  cp "$work/rootfs.tar" "$work/ctx$k/"
  echo "file of kind $k" > "$work/ctx$k/f.txt"
  cat > "$work/ctx$k/Dockerfile" <<EOF
FROM scratch AS base
ADD rootfs.tar /
RUN --mount=type=cache,id=loadcount,target=/count echo base >> /count/runs && echo base > /base && i=0 && while [ \$i -lt 30000 ]; do i=\$((i+1)); done
FROM base
RUN --mount=type=cache,id=loadcount,target=/count echo kind $k >> /count/runs && echo kind $k > /kind && i=0 && while [ \$i -lt 30000 ]; do i=\$((i+1)); done
COPY f.txt /f
EOF
done

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
export BUILDFARM_HOME="$work/home"
env --default-signal=INT dotnet "$cli" serve --listen "127.0.0.1:$port" >"$work/serve.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 300); do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then break; fi
  sleep 0.1
done

start=$(date +%s.%N)
pids=()
for i in $(seq 1 "$n"); do
  k=$((i % kinds))
  ( timeout "$deadline" dotnet "$cli" build --server "127.0.0.1:$port" --progress plain -t "load$i" "$work/ctx$k" \
      >"$work/build$i.log" 2>&1; echo $? >"$work/build$i.rc" ) &
  pids+=($!)
done
wait "${pids[@]}"
end=$(date +%s.%N)
peak_kb=$(awk '/VmHWM/ {print $2}' "/proc/$server_pid/status" 2>/dev/null || echo 0)

ok=0; failed=0; hung=0; executed=0
for i in $(seq 1 "$n"); do
  rc=$(cat "$work/build$i.rc" 2>/dev/null || echo 124)
  case "$rc" in 0) ok=$((ok + 1)) ;; 124) hung=$((hung + 1)) ;; *) failed=$((failed + 1)) ;; esac
  e=$(grep -o '[0-9]* steps executed' "$work/build$i.log" | head -1 | cut -d' ' -f1 || true)
  executed=$((executed + ${e:-0}))
done
# Every RUN that really executed appended one line to the shared cache mount: identical steps must have run once.
runs=$(find "$work/home" -type f -name runs -exec cat {} + 2>/dev/null | wc -l)
wall=$(python3 -c "print(f'{$end - $start:.1f}')")
digests=$(grep -ho 'writing image sha256:[0-9a-f]*' "$work"/build*.log | sort -u | wc -l)

mkdir -p bench/results
out="bench/results/$(date +%F)-load.md"
{
  echo "# Load: $n concurrent builds through one \`buildfarm serve\` ($(date -u +'%F %H:%M UTC'), $(nproc) cores)"
  echo
  echo "$kinds Dockerfile kinds (one shared base stage with a CPU-bound RUN, a CPU-bound RUN per kind, a COPY), build i uses kind i mod $kinds;"
  echo "each client is a separate \`buildfarm build --server\` process started at the same moment."
  echo
  echo "| measure | value |"
  echo "| --- | --- |"
  echo "| builds | $n |"
  echo "| succeeded / failed / hung (no end within ${deadline} s) | $ok / $failed / $hung |"
  echo "| wall time, first start to last end | ${wall} s |"
  echo "| RUN executions counted inside the steps (distinct RUN steps: $((1 + kinds))) | $runs |"
  echo "| steps reported executed, summed over the builds (a build that joined a running step counts it too) | $executed |"
  echo "| distinct image digests | $digests (one per kind expected: $kinds) |"
  echo "| server peak memory (VmHWM) | $((peak_kb / 1024)) MiB |"
} >"$out"
cat "$out"
[ "$hung" -eq 0 ] && [ "$failed" -eq 0 ]
