#!/usr/bin/env bash
# radosgw itself stopped under sysbench (issue 18): rewindd --object-store against the `ceph`
# fixture's RGW, directly (no proxy); `ceph.sh stop-rgw` stops the fixture's radosgw by PID for
# RGW_OUTAGE_S seconds (60 in CI), `ceph.sh start-rgw` brings it back (also on every exit path, so
# the fixture is whole for the next test). Checks:
#   - sysbench oltp_write_only (3 threads) commits all through the outage;
#   - /metrics says uploads are down and the upload lag grows about as long as the outage; the
#     cluster gets the "…object store are failing…" event;
#   - radosgw back: uploads catch up (down 0, lag back near 1 s, the "caught up" event);
#   - nothing lost: the machine lost a few seconds after the last commit, `--restore` on a new
#     data dir serves sbtest1 with the same checksum as the last commit left it.
source "$(dirname "$0")/../e2e/lib.sh"
source "$(dirname "$0")/lib.sh"
MASTER_PASSWORD="Outage-pass-$RANDOM"
RGW_OUTAGE_S=${RGW_OUTAGE_S:-60}
ROWS=2000
e2e_test_cleanup() { rgw_cleanup; }
lag() { metric rewind_objstore_upload_lag_seconds; }

REWINDD_ARGS="--object-store s3://$S3_BUCKET/outage-$$-$RANDOM --s3-endpoint $S3_ENDPOINT"
e2e_start
create_cluster_with_writer rgw 3600
sysbench_prepare rgw
sysbench_load rgw
sleep 5
l=$(lag)
awk -v m="$l" 'BEGIN { exit !(m < 2.5) }' || die "upload lag ${l}s under sysbench before the outage"
[ "$(metric rewind_objstore_down)" = 0 ] || die "uploads down before the outage"

log "radosgw stopped for ${RGW_OUTAGE_S}s under sysbench"
C0=$(commits rgw)
rgw_stop
T_DOWN=$SECONDS
MAX_LAG=0
while [ $((SECONDS - T_DOWN)) -lt "$RGW_OUTAGE_S" ]; do
  sleep 2
  [ -d "/proc/$SB" ] || die "sysbench ended during the outage: $(tail -n 5 "$E2E_DIR/sysbench.out")"
  MAX_LAG=$(awk -v a="$(lag)" -v b="$MAX_LAG" 'BEGIN { print (a > b) ? a : b }')
done
C1=$(commits rgw)
log "outage: $((C1 - C0)) commits, lag ${MAX_LAG}s / $(metric rewind_objstore_upload_lag_bytes) bytes," \
  "down=$(metric rewind_objstore_down), $(metric rewind_objstore_failed_passes_total) failed passes"
[ "$((C1 - C0))" -gt "$((RGW_OUTAGE_S * 5))" ] ||
  die "only $((C1 - C0)) commits in ${RGW_OUTAGE_S}s without radosgw: commits waited on uploads"
[ "$(metric rewind_objstore_down)" = 1 ] || die "/metrics does not say uploads are down"
awk -v m="$MAX_LAG" -v o="$RGW_OUTAGE_S" 'BEGIN { exit !(m > o * 0.7) }' ||
  die "the upload lag (${MAX_LAG}s) did not grow with the ${RGW_OUTAGE_S}s outage"
EV=$(events rgw); echo "$EV" | grep -q "object store are failing" ||
  die "no event says uploads are failing: $EV"

log "radosgw back: uploads catch up under sysbench"
rgw_start
T_UP=$SECONDS
for _ in $(seq 1 300); do [ "$(metric rewind_objstore_down)" = 0 ] && break; sleep 0.2; done
[ "$(metric rewind_objstore_down)" = 0 ] || die "uploads did not catch up within 60 s"
log "caught up $((SECONDS - T_UP)) s after radosgw came back"
sleep 3
l=$(lag)
awk -v m="$l" 'BEGIN { exit !(m < 2.5) }' || die "upload lag ${l}s after catching up"
EV=$(events rgw); echo "$EV" | grep -q "object store caught up" ||
  die "no event says uploads caught up: $EV"

log "nothing lost: the machine lost 3 s after the last commit, --restore on a new data dir"
sysbench_stop
restore_keeps_last_commit rgw
log "PASS"
