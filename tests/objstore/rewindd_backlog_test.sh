#!/usr/bin/env bash
# The local buffer full (issue 18): rewindd --object-store --local-history-budget 0
# --upload-backlog-headroom 128M (policy back-pressure, the default) against the `ceph` fixture's
# RGW; radosgw stopped by PID (ceph.sh stop-rgw; restarted on every exit path) under sysbench
# oltp_write_only (3 threads) until the local log passes budget + headroom. Checks:
#   - the buffer fills: rewind_objstore_backlog_full 1, writes waiting, the "local log is full"
#     event; commits stop (Com_commit still for 3 s) and the local log stops growing;
#   - radosgw back: uploads catch up, the buffer has room again (the event), commits go on;
#   - nothing lost: sysbench saw no error, and the machine lost 3 s after the last commit,
#     --restore serves sbtest1 with the checksum the last commit left.
source "$(dirname "$0")/../e2e/lib.sh"
source "$(dirname "$0")/lib.sh"
MASTER_PASSWORD="Backlog-pass-$RANDOM"
ROWS=2000
e2e_test_cleanup() { rgw_cleanup; }
wait_metric() {  # NAME VALUE SECONDS
  for _ in $(seq 1 $(($3 * 5))); do [ "$(metric "$1")" = "$2" ] && return 0; sleep 0.2; done
  die "$1 did not become $2 within $3 s (it is $(metric "$1"))"
}

REWINDD_ARGS="--object-store s3://$S3_BUCKET/backlog-$$-$RANDOM --s3-endpoint $S3_ENDPOINT \
--local-history-budget 0 --upload-backlog-headroom 128M"
e2e_start
create_cluster_with_writer bp 3600
sysbench_prepare bp
[ "$(metric rewind_objstore_backlog_full)" = 0 ] || die "the buffer is full before any outage"
sysbench_load bp
sleep 3

log "radosgw stopped under sysbench until the local log passes budget + headroom"
rgw_stop
T_DOWN=$SECONDS
wait_metric rewind_objstore_backlog_full 1 150
log "full $((SECONDS - T_DOWN)) s into the outage: local log $(metric rewind_store_local_log_bytes) bytes"
sleep 1
C0=$(commits bp); L0=$(metric rewind_store_local_log_bytes)
sleep 3
C1=$(commits bp); L1=$(metric rewind_store_local_log_bytes)
[ "$(metric rewind_objstore_backlog_writes_waiting)" -gt 0 ] || die "no write is waiting"
[ "$C1" = "$C0" ] || die "commits went on ($C0 -> $C1) with the local buffer full"
[ "$L1" -le "$((L0 + (1 << 20)))" ] || die "the local log grew ($L0 -> $L1) with the buffer full"
EV=$(events bp); echo "$EV" | grep -q "The local log is full" || die "no event says the buffer is full: $EV"
[ -d "/proc/$SB" ] || die "sysbench ended: $(tail -n 5 "$E2E_DIR/sysbench.out")"
log "held: commits still at $C1, local log at $L1 bytes"

log "radosgw back: the buffer drains, commits go on"
rgw_start
wait_metric rewind_objstore_backlog_full 0 90
C2=$(commits bp); sleep 2; C3=$(commits bp)
[ "$C3" -gt "$C2" ] || die "commits did not resume after the buffer drained"
EV=$(events bp); echo "$EV" | grep -q "The local log has room again" ||
  die "no event says the buffer has room: $EV"
log "drained: $(metric rewind_objstore_backlog_writes_held_total) writes waited" \
  "$(metric rewind_objstore_backlog_wait_seconds_total) s in all; commits going on"

log "nothing lost: the machine lost 3 s after the last commit, --restore on a new data dir"
wait_metric rewind_objstore_down 0 60
sysbench_stop
restore_keeps_last_commit bp
log "PASS"
