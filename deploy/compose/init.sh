#!/usr/bin/env bash
# Writes what the compose project reads, once (an existing file is kept): .env with fresh S3 keys and the image
# tag; farm.p12, the PKCS#12 remoting certificate with its key (mode 0600) that every node presents and trusts; and
# tokens, the coordinator's API tokens (mode 0600): one admin token (team ops) and one for team "dev".
set -euo pipefail
cd "$(dirname "$0")"
die() { echo "init.sh: $*" >&2; exit 1; }
command -v openssl >/dev/null || die "openssl is not installed (apt-get install openssl)"
if [ ! -f .env ]; then
  (umask 077; cat > .env <<ENV
# read by docker-compose.yml
BUILDFARM_TAG=${BUILDFARM_TAG:-dev}
BUILDFARM_PORT=${BUILDFARM_PORT:-8740}
S3_ACCESS_KEY=bf$(openssl rand -hex 9)
S3_SECRET_KEY=$(openssl rand -hex 20)
ENV
  )
  echo "wrote $(pwd)/.env"
fi
if [ ! -f farm.p12 ]; then
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 3650 -subj /CN=buildfarm-remoting \
    -addext "keyUsage=critical,digitalSignature" -addext "extendedKeyUsage=serverAuth,clientAuth" \
    -keyout "$tmp/key.pem" -out "$tmp/cert.pem" 2>/dev/null || die "openssl could not make the remoting certificate"
  (umask 077; openssl pkcs12 -export -inkey "$tmp/key.pem" -in "$tmp/cert.pem" -out farm.p12.tmp -passout pass:) \
    || die "openssl could not write farm.p12"
  chmod 600 farm.p12.tmp && mv farm.p12.tmp farm.p12
  echo "wrote $(pwd)/farm.p12"
fi
if [ ! -f tokens ]; then
  (umask 077; cat > tokens.tmp <<TOKENS
# TOKEN TEAM [admin] — the coordinator's API tokens (BUILDFARM_TOKENS); it re-reads this file when it changes.
# Give each team or CI system its own line; an admin token sees every team's builds and may prune the cache.
$(openssl rand -hex 24) ops admin
$(openssl rand -hex 24) dev
TOKENS
  ) && mv tokens.tmp tokens
  echo "wrote $(pwd)/tokens"
fi
echo "team dev's token: export BUILDFARM_TOKEN=\$(awk '\$2 == \"dev\" { print \$1 }' $(pwd)/tokens)"
