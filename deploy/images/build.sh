#!/usr/bin/env bash
# Builds the farm's own images with the farm: buildfarm/coordinator, buildfarm/worker and buildfarm/s3 (radosgw),
# each written as a docker archive (`docker load -i` accepts it).
#   1. a Debian bookworm minbase made with debootstrap from this machine's apt mirror (once; kept in the cache)
#   2. the farm published self-contained for linux-x64 (the runtime packs restore from NuGet): the images need no SDK
#   3. `buildfarm build` (the binary just published, embedded: its own coordinator and worker, runc) per Dockerfile
#
# usage: deploy/images/build.sh [--tag TAG] [--out DIR] [--load]
#   --tag TAG   image tag (default dev): buildfarm/coordinator:TAG, buildfarm/worker:TAG, buildfarm/s3:TAG
#   --out DIR   where the archives go (default deploy/images/out): coordinator.tar worker.tar s3.tar
#   --load      also `docker load -i` each archive into the daemon DOCKER_HOST names
# env:
#   BUILDFARM_DEPLOY_CACHE  the debootstrap rootfs, its tar and the build's BUILDFARM_HOME (default /var/tmp/buildfarm-deploy)
#   DEBIAN_MIRROR           override the mirror (default: the first bookworm "main" source of /etc/apt)
# needs: root, debootstrap, runc, overlayfs, the .NET SDK (for the publish only)
set -euo pipefail
REPO=$(cd "$(dirname "$0")/../.." && pwd)
HERE=$REPO/deploy/images
CACHE=${BUILDFARM_DEPLOY_CACHE:-/var/tmp/buildfarm-deploy}
TAG=dev OUT=$HERE/out LOAD=0
die() { echo "build.sh: $*" >&2; exit 1; }
while [ $# -gt 0 ]; do
  case "$1" in
    --tag) TAG=${2:-}; shift 2 || die "--tag needs a value";;
    --out) OUT=${2:-}; shift 2 || die "--out needs a folder";;
    --load) LOAD=1; shift;;
    *) die "unknown option $1 (usage: build.sh [--tag TAG] [--out DIR] [--load])";;
  esac
done
[[ "$TAG" =~ ^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$ ]] || die "--tag $TAG: not a valid image tag"
[ "$(id -u)" = 0 ] || die "needs root (debootstrap, runc, overlay mounts)"
for tool in debootstrap runc dotnet tar; do
  command -v "$tool" >/dev/null || die "$tool is not installed (scripts/install-deps.sh; apt-get install debootstrap)"
done
mkdir -p "$CACHE" "$OUT"
OUT=$(cd "$OUT" && pwd)

# The mirror this machine's apt uses: the first bookworm source with "main" (deb822 stanzas or one-line form).
apt_mirror() {
  [ -n "${DEBIAN_MIRROR:-}" ] && { echo "$DEBIAN_MIRROR"; return; }
  local f
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*; do
    [ -f "$f" ] || continue
    awk 'BEGIN{RS=""} /Suites:[^\n]*bookworm( |\n|$)/ && /Components:[^\n]*main/ { match($0, /URIs: *[^ \n]+/); if (RSTART) { u = substr($0, RSTART, RLENGTH); sub(/URIs: */, "", u); print u; exit } }' "$f"
    awk '$1 == "deb" && $3 == "bookworm" && / main/ { print $2; exit }' "$f"
  done | head -n 1
}

# 1. Debian minbase, made once (a few minutes) and kept: the same bytes give the same cache keys on every build.
base_tar() {
  local root=$CACHE/debian-minbase tarball=$CACHE/debian-minbase.tar
  if [ ! -f "$root/etc/debian_version" ]; then
    local mirror; mirror=$(apt_mirror)
    [ -n "$mirror" ] || die "no bookworm main source in /etc/apt; set DEBIAN_MIRROR"
    echo "debootstrap --variant=minbase bookworm from $mirror (once; kept in $CACHE)" >&2
    rm -rf "$root.tmp"
    debootstrap --variant=minbase bookworm "$root.tmp" "$mirror" >"$CACHE/debootstrap.log" 2>&1 \
      || die "debootstrap failed (log: $CACHE/debootstrap.log)"
    mv "$root.tmp" "$root"
    rm -f "$tarball"
  fi
  if [ ! -f "$tarball" ]; then
    # Device nodes, apt caches and logs are not image content (the engine gives /dev its own).
    (umask 022; tar -C "$root" --numeric-owner --sort=name --exclude=./dev/* --exclude=./proc/* --exclude=./sys/* \
      --exclude=./var/cache/apt/archives/*.deb --exclude=./var/lib/apt/lists/* --exclude=./var/log/* \
      -cf "$tarball.tmp" .) || die "could not write $tarball"
    mv "$tarball.tmp" "$tarball"
  fi
  echo "$tarball"
}

CTX=$OUT/context
rm -rf "$CTX"
mkdir -p "$CTX"
ln "$(base_tar)" "$CTX/debian-minbase.tar" 2>/dev/null || cp "$(base_tar)" "$CTX/debian-minbase.tar"

# 2. The farm, self-contained: the images carry its runtime.
echo "dotnet publish -r linux-x64 --self-contained" >&2
dotnet publish "$REPO/cli/BuildFarm.Cli.csproj" -c Release -r linux-x64 --self-contained -o "$CTX/buildfarm" -nologo -v q \
  || die "dotnet publish failed"
rm -f "$CTX"/buildfarm/*.pdb
cp "$REPO/scripts/s3-server.sh" "$HERE/s3/s3-entrypoint.sh" "$CTX/"

# 3. The farm builds its own images (embedded: this machine's runc), one docker archive each.
export BUILDFARM_HOME=${BUILDFARM_HOME:-$CACHE/home}
for image in coordinator worker s3; do
  echo "buildfarm build buildfarm/$image:$TAG -> $OUT/$image.tar" >&2
  # the images' RUN --network=host apt-get steps need the network.host entitlement, as with buildx
  BUILDFARM_ENGINE=embedded "$CTX/buildfarm/buildfarm" build --progress plain --allow network.host -f "$HERE/$image/Dockerfile" -t "buildfarm/$image:$TAG" \
    -o "type=docker,dest=$OUT/$image.tar.tmp" "$CTX" || die "buildfarm build of $image failed"
  mv "$OUT/$image.tar.tmp" "$OUT/$image.tar"
done
if [ "$LOAD" = 1 ]; then
  for image in coordinator worker s3; do docker load -i "$OUT/$image.tar" || die "docker load -i $OUT/$image.tar failed"; done
fi
ls -l "$OUT"/*.tar
