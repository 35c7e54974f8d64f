#!/bin/bash
# A single-node Ceph radosgw (a real S3 server) on 127.0.0.1 for BuildFarm's tests and benchmarks:
# one mon, one OSD and radosgw, all state under $S3_DIR. No MinIO server can be installed on this
# machine; radosgw speaks the S3 API the Minio SDK uses.
#
# usage: s3-server.sh start|stop|stop-gateway|start-gateway|status
#   start          create (first time) and start mon + osd + radosgw; prints "S3 ready at http://..."
#   stop           stop every daemon of this instance (and its watchdog); state stays in $S3_DIR
#   stop-gateway   stop only radosgw (the S3 endpoint goes away, the data stays): for outage tests
#   start-gateway  start radosgw again and wait until it answers
#   status         exit 0 when the S3 endpoint answers
# env:
#   S3_DIR          state directory (required; one per instance)
#   S3_PORT         S3 port on 127.0.0.1 (default 7480)
#   S3_MON_PORT     mon msgr2 port (default 3300); S3_MON_V1_PORT mon msgr1 port (default 6789)
#   S3_STORE        memstore (default: RAM, fast; the data is lost on stop, so start a memstore instance in a
#                   fresh S3_DIR each time) | bluestore (a sparse file under $S3_DIR, survives stop/start)
#   S3_STORE_BYTES  capacity of the store (default 8 GiB; memstore only uses what is written)
#   S3_ACCESS_KEY, S3_SECRET_KEY   the one S3 user's keys
#   S3_OWNER_PID    when set, a watchdog stops this instance once that process is gone (tests that crash)
# needs (Debian): radosgw ceph-mon ceph-osd curl   (scripts/install-deps.sh installs them)
set -euo pipefail
: "${S3_DIR:?set S3_DIR to the state directory of this S3 server instance}"
D=$S3_DIR
PORT=${S3_PORT:-7480}
MON2=${S3_MON_PORT:-3300}
MON1=${S3_MON_V1_PORT:-6789}
STORE=${S3_STORE:-memstore}
BYTES=${S3_STORE_BYTES:-8589934592}
AK=${S3_ACCESS_KEY:-buildfarmaccesskey000}
SK=${S3_SECRET_KEY:-buildfarmsecretkey0000000000000000000000}
C=(-c "$D/ceph.conf")

# SIGTERM, then SIGKILL after 10 s: a stop must never hang a test run.
stop_pids() {
  local p i
  for p in "$@"; do kill "$p" 2>/dev/null || true; done
  for p in "$@"; do
    for i in $(seq 1 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$p" 2>/dev/null || true
  done
}
pid_of() { cat "$D/run/$1.pid" 2>/dev/null || true; }
answers() { curl -s -o /dev/null --max-time 2 "http://127.0.0.1:$PORT/"; }
wait_gateway() {
  local i
  for i in $(seq 1 600); do
    answers && return 0
    # a gateway that died will not answer: fail now rather than after the full minute
    if [ "$i" -gt 20 ] && ! kill -0 "$(pid_of client.rgw.a)" 2>/dev/null; then break; fi
    sleep 0.1
  done
  echo "radosgw on 127.0.0.1:$PORT did not come up within 60 s; logs in $D/log" >&2
  tail -n 5 "$D"/log/*.log >&2 || true
  return 1
}
start_gateway() {
  radosgw "${C[@]}" -n client.rgw.a >>"$D/log/rgw-start.log" 2>&1
  wait_gateway
}

case "${1:-}" in
stop)
  # shellcheck disable=SC2046
  stop_pids $(pid_of watchdog) $(pid_of client.rgw.a) $(pid_of osd.0) $(pid_of mon.a)
  rm -f "$D/run/watchdog.pid"
  exit 0;;
stop-gateway)
  # shellcheck disable=SC2046
  stop_pids $(pid_of client.rgw.a)
  exit 0;;
start-gateway)
  start_gateway
  exit 0;;
status)
  answers; exit $?;;
start) ;;
*) echo "usage: $0 start|stop|stop-gateway|start-gateway|status" >&2; exit 2;;
esac

for b in radosgw ceph-mon ceph-osd curl; do
  command -v "$b" >/dev/null || { echo "$b is not installed (apt-get install radosgw ceph-mon ceph-osd curl)" >&2; exit 1; }
done

NEW=0
if [ ! -f "$D/ceph.conf" ]; then
NEW=1
mkdir -p "$D"/{mon/ceph-a,osd/ceph-0,run,log,rgw}
FSID=$(cat /proc/sys/kernel/random/uuid)
cat > "$D/ceph.conf" <<CONF
[global]
fsid = $FSID
mon_host = v2:127.0.0.1:$MON2,v1:127.0.0.1:$MON1
public_addr = 127.0.0.1
cluster_addr = 127.0.0.1
public_network = 127.0.0.0/8
cluster_network = 127.0.0.0/8
ms_bind_ipv6 = false
auth_cluster_required = none
auth_service_required = none
auth_client_required = none
ms_mon_client_mode = crc
ms_mon_cluster_mode = crc
ms_mon_service_mode = crc
ms_client_mode = crc
ms_cluster_mode = crc
ms_service_mode = crc
mon_data_avail_warn = 1
run_dir = $D/run
admin_socket = $D/run/\$name.asok
pid_file = $D/run/\$name.pid
log_file = $D/log/\$name.log
keyring = $D/keyring
osd_pool_default_size = 1
osd_pool_default_min_size = 1
osd_pool_default_pg_num = 8
osd_pool_default_pgp_num = 8
osd_pool_default_pg_autoscale_mode = off
osd_crush_chooseleaf_type = 0
mon_allow_pool_size_one = true
mon_warn_on_pool_no_redundancy = false
mon_data = $D/mon/\$cluster-\$id
osd_data = $D/osd/\$cluster-\$id
osd_objectstore = $STORE
memstore_device_bytes = $BYTES
bluestore_block_create = true
bluestore_block_size = $BYTES
osd_memory_target = 1073741824
[client.rgw.a]
rgw_frontends = beast endpoint=127.0.0.1:$PORT
rgw_data = $D/rgw
CONF
ceph-authtool --create-keyring "$D/keyring" --gen-key -n mon. --cap mon 'allow *' >/dev/null
monmaptool --create --addv a "[v2:127.0.0.1:$MON2,v1:127.0.0.1:$MON1]" --fsid "$FSID" "$D/monmap" >/dev/null
ceph-mon "${C[@]}" --mkfs -i a --monmap "$D/monmap" --keyring "$D/keyring"
fi

if [ -n "${S3_OWNER_PID:-}" ]; then
  # Detached, with no inherited pipes, so that the caller's output reader is not held open.
  setsid bash -c 'while kill -0 "$0" 2>/dev/null && [ -f "$1/ceph.conf" ]; do sleep 1; done; rm -f "$1/run/watchdog.pid"; "$2" stop' \
    "$S3_OWNER_PID" "$D" "$(readlink -f "$0")" </dev/null >>"$D/log/watchdog.log" 2>&1 &
  echo $! > "$D/run/watchdog.pid"
fi

ceph-mon "${C[@]}" -i a </dev/null >>"$D/log/mon-start.log" 2>&1
if [ $NEW = 1 ]; then
  ceph "${C[@]}" osd create >/dev/null
  ceph-osd "${C[@]}" -i 0 --mkfs >"$D/log/osd-mkfs.log" 2>&1
fi
ceph-osd "${C[@]}" -i 0 </dev/null >>"$D/log/osd-start.log" 2>&1
start_gateway
if [ $NEW = 1 ]; then
  radosgw-admin "${C[@]}" user create --uid=buildfarm --display-name=buildfarm --access-key="$AK" --secret="$SK" >/dev/null
  # Pre-create the bucket index/data pools so that the first MakeBucket/PutObject of a test is not slow.
  A=(--aws-sigv4 aws:amz:us-east-1:s3 --user "$AK:$SK" -H x-amz-content-sha256:UNSIGNED-PAYLOAD -s -o /dev/null)
  curl "${A[@]}" -X PUT "http://127.0.0.1:$PORT/warmup"
  echo x | curl "${A[@]}" -T - "http://127.0.0.1:$PORT/warmup/x"
  curl "${A[@]}" -X DELETE "http://127.0.0.1:$PORT/warmup/x"
  curl "${A[@]}" -X DELETE "http://127.0.0.1:$PORT/warmup"
fi
echo "S3 ready at http://127.0.0.1:$PORT (access key $AK) pids: mon=$(pid_of mon.a) osd=$(pid_of osd.0) rgw=$(pid_of client.rgw.a)"
