#!/usr/bin/env bash
# The compose project end to end on this machine, with its own dockerd (Debian's docker.io; stopped by its PID):
#   builds the three images with `buildfarm build` (deploy/images/build.sh), loads them, brings the project up,
#   checks a build without a token is refused, submits a multi-stage build from the host with team dev's token
#   (`buildfarm build --server … --push` to a registry beside the coordinator), `docker kill`s the worker running a
#   step mid-build, checks the build still succeeds and the image it pushed runs, reads the coordinator's Prometheus
#   metrics, then brings the project down and checks that no container, volume or mount is left.
# usage: deploy/compose/smoke.sh
# env: SMOKE_PORT (published API port, default 18740), SMOKE_REGISTRY_PORT (default 15000), BUILDFARM_TAG (default dev)
# needs: root, docker.io (dockerd), docker-compose, debootstrap, runc, busybox-static, openssl
set -euo pipefail
REPO=$(cd "$(dirname "$0")/../.." && pwd)
HERE=$REPO/deploy/compose
PORT=${SMOKE_PORT:-18740}
export BUILDFARM_TAG=${BUILDFARM_TAG:-dev} BUILDFARM_PORT=$PORT
PROJECT=bfsmoke
WORK=$(mktemp -d /var/tmp/bf-compose-smoke.XXXXXX)
BF=$REPO/deploy/images/out/context/buildfarm/buildfarm
DOCKERD_PID=""
say() { echo "== $*"; }
die() { echo "smoke.sh: FAILED: $*" >&2; exit 1; }
for tool in dockerd docker docker-compose openssl; do command -v "$tool" >/dev/null || die "$tool is not installed"; done

compose() { docker-compose -p "$PROJECT" --project-directory "$HERE" "$@"; }
REGISTRY_PORT=${SMOKE_REGISTRY_PORT:-15000}
cleanup() {
  local rc=$?
  if [ -n "$DOCKERD_PID" ]; then
    docker rm -f bfsmoke-registry >/dev/null 2>&1 || true
    compose -f "$HERE/docker-compose.yml" -f "$WORK/smoke.override.yml" down -v --timeout 30 >/dev/null 2>&1 || true
    kill -TERM "$DOCKERD_PID" 2>/dev/null || true
    for _ in $(seq 1 200); do kill -0 "$DOCKERD_PID" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$DOCKERD_PID" 2>/dev/null && kill -KILL "$DOCKERD_PID" 2>/dev/null
  fi
  # whatever the daemon left mounted under its folders (only after a failure)
  awk -v dir="$WORK/" 'index($2, dir) == 1 { print $2 }' /proc/self/mounts | sort -r | while read -r m; do umount -l "$m" || true; done
  rm -rf "$WORK"
  exit $rc
}
trap cleanup EXIT

say "dockerd (Debian's docker.io) on $WORK/docker.sock, --iptables=false --bridge=none"
dockerd --data-root "$WORK/data" --exec-root "$WORK/exec" --pidfile "$WORK/dockerd.pid" -H "unix://$WORK/docker.sock" \
  --iptables=false --ip6tables=false --bridge=none \
  --containerd-namespace "bfsmoke$$" --containerd-plugins-namespace "bfsmokep$$" >"$WORK/dockerd.log" 2>&1 &
DOCKERD_PID=$!
export DOCKER_HOST=unix://$WORK/docker.sock DOCKER_CONFIG=$WORK/cli
for _ in $(seq 1 300); do docker version >/dev/null 2>&1 && break; kill -0 "$DOCKERD_PID" 2>/dev/null || die "dockerd exited: $(tail -n 5 "$WORK/dockerd.log")"; sleep 0.2; done
docker version --format 'dockerd {{.Server.Version}} pid '"$DOCKERD_PID"

say "deploy/images/build.sh: the farm builds its own images"
start=$(date +%s)
"$REPO/deploy/images/build.sh" --tag "$BUILDFARM_TAG" >"$WORK/images.log" 2>&1 || { tail -n 30 "$WORK/images.log"; die "image build"; }
grep -E "^(buildfarm build|#0 [0-9]+ steps)" "$WORK/images.log"
echo "images built in $(( $(date +%s) - start )) s"
for image in coordinator worker s3; do docker load -i "$REPO/deploy/images/out/$image.tar"; done

say "docker-compose up (S3, one coordinator on 127.0.0.1:$PORT, two workers)"
"$HERE/init.sh" | grep -v "^team dev's token"
export BUILDFARM_TOKEN
BUILDFARM_TOKEN=$(awk '$2 == "dev" { print $1 }' "$HERE/tokens")
# For this test only: a registry the coordinator pushes the result to (a plain-HTTP registry must be on the
# coordinator's loopback, where the farm allows http): it runs in the coordinator's network namespace (Debian's docker-registry binary, mounted into the coordinator image),
# published to this host on 127.0.0.1:$REGISTRY_PORT.
cat > "$WORK/smoke.override.yml" <<YAML
version: "2.4"
services:
  coordinator:
    ports: ["127.0.0.1:$REGISTRY_PORT:5000"]
YAML
printf 'version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: /var/lib/registry\nhttp:\n  addr: 0.0.0.0:5000\n' > "$WORK/registry.yml"
start=$(date +%s)
compose -f "$HERE/docker-compose.yml" -f "$WORK/smoke.override.yml" up -d 2>&1
docker run -d --name bfsmoke-registry --network "container:${PROJECT}_coordinator_1" \
  -v /usr/bin/docker-registry:/usr/local/bin/docker-registry:ro -v "$WORK/registry.yml:/etc/registry.yml:ro" \
  --entrypoint /usr/local/bin/docker-registry "buildfarm/coordinator:$BUILDFARM_TAG" serve /etc/registry.yml >/dev/null
for _ in $(seq 1 240); do
  [ "$("$BF" workers --server "127.0.0.1:$PORT" --format json 2>/dev/null | grep -c '"id"')" = 2 ] && break
  sleep 0.5
done
"$BF" workers --server "127.0.0.1:$PORT" || die "the coordinator does not answer on 127.0.0.1:$PORT"
[ "$("$BF" workers --server "127.0.0.1:$PORT" --format json | grep -c '"id"')" = 2 ] || die "two workers did not join"
echo "farm up in $(( $(date +%s) - start )) s"

CTX=$WORK/ctx
mkdir -p "$CTX"
"$REPO/scripts/make-busybox-rootfs.sh" "$CTX/rootfs.tar" >/dev/null
cat > "$CTX/Dockerfile" <<'DOCKERFILE'
FROM scratch AS base
ADD rootfs.tar /
# a fresh value each run: every step below misses the cache and really runs
ARG NONCE
FROM base AS left
ARG NONCE
RUN echo "left $NONCE" > /left && sleep 12
FROM base AS right
ARG NONCE
RUN echo "right $NONCE" > /right && sleep 12
FROM base
COPY --from=left /left /out/left
COPY --from=right /right /out/right
CMD ["sh", "-c", "cat /out/left /out/right"]
DOCKERFILE
say "a build without a token is refused before its context is sent"
if BUILDFARM_TOKEN="" "$BF" build --server "127.0.0.1:$PORT" --progress plain "$CTX" >"$WORK/refused.log" 2>&1; then
  cat "$WORK/refused.log"; die "a build without a token was accepted"
fi
tail -n 1 "$WORK/refused.log"
grep -q "publish build context" "$WORK/refused.log" && die "the refused build published its context"

say "a multi-stage build from the host as team dev: buildfarm build --server 127.0.0.1:$PORT"
NONCE=$(date +%s%N)
start=$(date +%s)
"$BF" build --server "127.0.0.1:$PORT" --progress plain --build-arg "NONCE=$NONCE" -t "127.0.0.1:5000/smoke/app:$NONCE" --push \
  "$CTX" >"$WORK/build.log" 2>&1 &
BUILD=$!
victim=""
for _ in $(seq 1 120); do
  victim=$("$BF" workers --server "127.0.0.1:$PORT" --format json 2>/dev/null \
    | python3 -c 'import json,sys; print(next((w["id"].split("/")[0] for w in json.load(sys.stdin) if w["running"] > 0), ""))' || true)
  [ -n "$victim" ] && break
  kill -0 "$BUILD" 2>/dev/null || break
  sleep 0.5
done
[ -n "$victim" ] || { cat "$WORK/build.log"; die "no worker was seen running a step"; }
sleep 2
say "docker kill ${PROJECT}_${victim}_1 (it is running a step)"
docker kill "${PROJECT}_${victim}_1"
wait "$BUILD" || { cat "$WORK/build.log"; die "the build failed after a worker was killed"; }
grep -E "^#[0-9]+ \[|retry|again|worker|writing image|steps executed" "$WORK/build.log" | grep -v "^#[0-9]* [0-9.]* " || true
echo "build succeeded in $(( $(date +%s) - start )) s"
say "docker pull the image the coordinator pushed"
docker pull -q "127.0.0.1:$REGISTRY_PORT/smoke/app:$NONCE"
out=$(docker run --rm --network none "127.0.0.1:$REGISTRY_PORT/smoke/app:$NONCE")
echo "$out"
[ "$out" = "$(printf 'left %s\nright %s' "$NONCE" "$NONCE")" ] || die "the image printed something else"

say "the coordinator's Prometheus metrics (inside the project network)"
metrics=$(docker exec "${PROJECT}_coordinator_1" bash -c 'exec 3<>/dev/tcp/127.0.0.1/9464 && printf "GET /metrics HTTP/1.0\r\nHost: x\r\n\r\n" >&3 && cat <&3')
grep -E "^buildfarm_(steps_cached|builds_running|pool_worker_slots)[^ ]* " <<<"$metrics" | head -n 6
grep -qE "^buildfarm_pool_worker_slots" <<<"$metrics" || die "no worker slot gauge in the coordinator's metrics"

say "docker-compose down -v"
docker rm -f bfsmoke-registry >/dev/null
compose -f "$HERE/docker-compose.yml" -f "$WORK/smoke.override.yml" down -v --timeout 60 2>&1
left_containers=$(docker ps -aq --filter "label=com.docker.compose.project=$PROJECT")
left_volumes=$(docker volume ls -q --filter "label=com.docker.compose.project=$PROJECT")
[ -z "$left_containers" ] || die "containers left: $left_containers"
[ -z "$left_volumes" ] || die "volumes left: $left_volumes"
echo "containers left: $(docker ps -aq | wc -l); volumes left: $(docker volume ls -q | wc -l); networks left: $(docker network ls -q --filter "label=com.docker.compose.project=$PROJECT" | wc -l)"
docker rmi -f "127.0.0.1:$REGISTRY_PORT/smoke/app:$NONCE" >/dev/null
say "stop dockerd (pid $DOCKERD_PID)"
kill -TERM "$DOCKERD_PID"
for _ in $(seq 1 200); do kill -0 "$DOCKERD_PID" 2>/dev/null || break; sleep 0.1; done
kill -0 "$DOCKERD_PID" 2>/dev/null && die "dockerd did not stop within 20 s"
DOCKERD_PID=""
left_mounts=$(awk -v dir="$WORK/" 'index($2, dir) == 1 { print $2 }' /proc/self/mounts)
[ -z "$left_mounts" ] || die "mounts left: $left_mounts"
echo "mounts left under $WORK: 0"
say "smoke passed"
