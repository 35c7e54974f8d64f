#!/usr/bin/env bash
# Cache store throughput: put/get MB/s of 1 MiB and 200 MiB blobs against the local folder store and the S3 store
# (radosgw on loopback, started here), next to cp and a plain curl --aws-sigv4 PUT/GET of the same bytes.
# usage: bench/cache/run.sh            env: S3_STORE (memstore|bluestore, default bluestore: a disk-backed server),
#                                           SIZES (default 1,200), RUNS_SMALL (20), RUNS_LARGE (3)
# Writes bench/cache/results.md.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
work=$(mktemp -d /tmp/buildfarm-bench-cache.XXXXXX)
# a random port that nothing listens on (good enough for a benchmark; the tests pick theirs by binding port 0)
free_port() { local p; while :; do p=$((20000 + RANDOM % 40000)); ss -ltnH "sport = :$p" | grep -q . || { echo $p; return; }; done; }
export S3_DIR=$work/s3 S3_PORT=$(free_port) S3_MON_PORT=$(free_port) S3_MON_V1_PORT=$(free_port)
export S3_STORE=${S3_STORE:-bluestore} S3_STORE_BYTES=${S3_STORE_BYTES:-4294967296} S3_OWNER_PID=$$
export S3_ACCESS_KEY=benchaccesskey000000 S3_SECRET_KEY=benchsecretkey00000000000000000000000000
cleanup() { "$repo/scripts/s3-server.sh" stop || true; rm -rf "$work"; }
trap cleanup EXIT
dotnet build "$here/BuildFarm.Bench.Cache.csproj" -c Release -nologo -v q >/dev/null
"$repo/scripts/s3-server.sh" start
{
  echo "# Cache store throughput"
  echo
  echo "$(date -u +%F), $(nproc) cores, radosgw $S3_STORE on 127.0.0.1 (one OSD), files under /tmp; median of the runs."
  echo "put = store a blob from a file (digest known, as a worker uploads a layer; the store still verifies it);"
  echo "get = read it back to nowhere, verified. cp and curl rows include starting the process (dominant at 1 MiB)."
  echo "The stores verify sha256 both ways. S3ContentStore sends blobs up to MultipartThresholdBytes (1 GiB) as one streamed"
  echo "UNSIGNED-PAYLOAD PUT like curl, larger ones through the Minio SDK's multipart upload (16 MiB parts, each sha256-signed"
  echo "by the SDK and re-hashed by the server); the last row forces multipart. The machine is shared: expect ±30 % noise."
  echo
  dotnet "$here/bin/Release/net10.0/BuildFarm.Bench.Cache.dll" --work "$work/data" --endpoint "http://127.0.0.1:$S3_PORT" \
    --access "$S3_ACCESS_KEY" --secret "$S3_SECRET_KEY" --sizes "${SIZES:-1,200}" \
    --runs-small "${RUNS_SMALL:-20}" --runs-large "${RUNS_LARGE:-3}"
} | tee "$here/results.md"
