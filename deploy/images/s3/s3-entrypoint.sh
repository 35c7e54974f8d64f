#!/bin/bash
# The S3 server container's main process: starts mon + osd + radosgw with the project's scripts/s3-server.sh,
# rebinds radosgw from loopback to every address (other containers reach it by name), then waits. SIGTERM stops
# every daemon; the container exits non-zero when radosgw dies on its own, so the engine can restart it.
set -euo pipefail
export S3_DIR=${S3_DIR:-/var/lib/s3}
PORT=${S3_PORT:-7480}
# memstore keeps nothing across a stop and wants a fresh folder (a restarted container starts over).
[ "${S3_STORE:-memstore}" = memstore ] && rm -rf "${S3_DIR:?}"/*
s3-server.sh start
sed -i "s|^rgw_frontends = .*|rgw_frontends = beast endpoint=0.0.0.0:$PORT|" "$S3_DIR/ceph.conf"
s3-server.sh stop-gateway
s3-server.sh start-gateway
echo "S3 ready at http://0.0.0.0:$PORT"
stop() { s3-server.sh stop; exit 0; }
trap stop TERM INT
while kill -0 "$(cat "$S3_DIR/run/client.rgw.a.pid")" 2>/dev/null; do sleep 1 & wait $!; done
echo "radosgw exited; logs:" >&2
tail -n 20 "$S3_DIR"/log/client.rgw.a.log >&2 || true
s3-server.sh stop
exit 1
