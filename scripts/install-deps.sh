#!/usr/bin/env bash
# Installs the Debian packages BuildFarm and its tests use; does nothing when they are present.
set -euo pipefail
need=()
want() { command -v "$1" >/dev/null 2>&1 || need+=("$2"); }
want runc runc
want busybox busybox-static
want skopeo skopeo
want umoci umoci
want docker-registry docker-registry
want radosgw radosgw
want ceph-mon ceph-mon
want ceph-osd ceph-osd
want curl curl
want zstd zstd
want bzip2 bzip2
want xz xz-utils
want htpasswd apache2-utils
want ip iproute2
# a real terminal for the tty progress tests; openssl for deploy/local/cluster.sh's farm certificate
want tmux tmux
want openssl openssl
# kubectl renders deploy/k8s's kustomization in the manifest tests
want kubectl kubernetes-client
# dockerd for the docker interop tests (a private daemon each test run starts and stops itself)
want dockerd docker.io
# ADD of a git repository (coordinator: ls-remote; worker: fetch and checkout); ssh-agent/ssh-add for --ssh
want git git
want ssh-agent openssh-client
# ADD of a git repository over ssh: the tests serve one with their own sshd (own port, host key and authorized_keys)
[ -x /usr/sbin/sshd ] || need+=(openssh-server) # (sbin: not on a plain user's PATH)
# the Native AOT client (client/): the ILCompiler links with clang and needs zlib's headers
want clang clang
[ -e /usr/include/zlib.h ] || need+=(zlib1g-dev)
if [ ${#need[@]} -gt 0 ]; then
  echo "installing: ${need[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # No service starts at install time (docker.io's and docker-registry's postinst would try where an init system exists).
  policy=/usr/sbin/policy-rc.d; made_policy=0
  if [ ! -e "$policy" ]; then printf '#!/bin/sh\nexit 101\n' > "$policy"; chmod 755 "$policy"; made_policy=1; fi
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  if [ "$made_policy" -eq 1 ]; then rm -f "$policy"; fi
fi
# Foreign platforms (--platform linux/arm64): QEMU user emulation, and an arm64 busybox the platform tests build their
# arm64 base image from (extracted once to /opt/buildfarm/arm64; the tests look there).
if ! command -v qemu-aarch64-static >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq --no-install-recommends qemu-user-static >/dev/null
fi
arm64_busybox=/opt/buildfarm/arm64/bin/busybox
if [ ! -x "$arm64_busybox" ]; then
  dpkg --print-foreign-architectures | grep -qx arm64 || { dpkg --add-architecture arm64; apt-get update -qq; }
  work=$(mktemp -d)
  if ! (cd "$work" && apt-get download -qq busybox-static:arm64 >/dev/null 2>&1); then
    apt-get update -qq && (cd "$work" && apt-get download -qq busybox-static:arm64 >/dev/null)
  fi
  dpkg -x "$work"/busybox-static_*_arm64.deb "$work/x"
  mkdir -p "$(dirname "$arm64_busybox")" && install -m 0755 "$work/x/bin/busybox" "$arm64_busybox"
  rm -rf "$work"
fi
# Debian 13's dockerd and buildx, unpacked beside (never installed): the tests that compare with a BuildKit recent
# enough for containerd's image store and cache export start it themselves. Without it those tests fail naming it.
"$(dirname "$0")/buildkit-peer.sh" unpack || echo "install-deps: could not unpack the BuildKit peer (scripts/buildkit-peer.sh)" >&2
# Debian's postinst may start a registry on :5000 where an init system exists; tests pick their own ports.
exit 0
