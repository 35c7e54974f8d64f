#!/usr/bin/env bash
# Writes a minimal busybox root filesystem as a deterministic tar (Debian's busybox-static; no internet).
# Usage: scripts/make-busybox-rootfs.sh [OUT.tar]   (default: every examples/*/rootfs.tar whose Dockerfile ADDs it)
set -euo pipefail
cd "$(dirname "$0")/.."
busybox=$(command -v busybox || true)
if [ -z "$busybox" ] || ldd "$busybox" >/dev/null 2>&1; then
  echo "busybox-static is required (apt-get install busybox-static)" >&2
  exit 1
fi
make_rootfs() {
  local out=$1 tmp
  tmp=$(mktemp -d)
  chmod 755 "$tmp"
  trap 'rm -rf "$tmp"' RETURN
  mkdir -p "$tmp"/{bin,sbin,usr/bin,usr/sbin,etc,tmp,root,proc,sys,dev,var,home}
  chmod 1777 "$tmp/tmp"; chmod 700 "$tmp/root"
  cp "$busybox" "$tmp/bin/busybox"
  for applet in $("$busybox" --list-full); do
    [ "$applet" = "bin/busybox" ] && continue
    mkdir -p "$tmp/$(dirname "$applet")"
    ln -sf /bin/busybox "$tmp/$applet"
  done
  printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$tmp/etc/passwd"
  printf 'root:x:0:\nnogroup:x:65534:\n' >"$tmp/etc/group"
  mkdir -p "$(dirname "$out")"
  tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$tmp" -cf "$out.tmp" .
  mv "$out.tmp" "$out"
  echo "wrote $out ($(du -h "$out" | cut -f1))"
}
if [ $# -ge 1 ]; then
  make_rootfs "$1"
else
  for dockerfile in examples/*/Dockerfile; do
    dir=$(dirname "$dockerfile")
    grep -q 'rootfs.tar' "$dockerfile" && make_rootfs "$dir/rootfs.tar"
  done
fi
