#!/usr/bin/env bash
# Acceptance 1: mariadbd on a Rewind mount runs sysbench oltp_write_only; CHECKSUM TABLE is the
# same after a clean stop of mariadbd, unmount, a restart of rewind-mount (the store reopened
# from its files) and a restart of mariadbd.
# Usage: restart_test.sh REWIND_MOUNT_BINARY
REWIND_MOUNT=${1:-${REWIND_MOUNT:-}}
source "$(dirname "$0")/lib.sh"
int_private_ns "$@"
int_setup restart
ROWS=${ROWS:-100000}
RUN_S=${RUN_S:-20}

STORE=$INT_DIR/store MNT=$INT_DIR/mnt PORT=$(free_port)
daemon_start d "$STORE" "$MNT" --volume db --create
mdb_install m "$MNT" "$PORT"
t=$(date +%s.%N)
sb m oltp_write_only prepare --table-size="$ROWS" >"$INT_DIR/prepare.log"
log "sysbench prepare $ROWS rows: $(since "$t") s"
sb m oltp_write_only run --table-size="$ROWS" --threads=2 --time="$RUN_S" --report-interval=5 >"$INT_DIR/run.log" ||
  die "sysbench run failed: $(tail -n 5 "$INT_DIR/run.log")"
log "sysbench run: $(grep -E 'transactions:' "$INT_DIR/run.log" | xargs)"
C1=$(sql m "CHECKSUM TABLE sbtest.sbtest1" | cut -f2)
N1=$(sql m "SELECT COUNT(*) FROM sbtest.sbtest1")
[ -n "$C1" ] && [ "$C1" != NULL ] || die "no checksum"
log "checksum before: $C1 ($N1 rows)"

mdb_stop m
daemon_stop d
daemon_start d "$STORE" "$MNT" --volume db
grep -q "store recovery cut" "${DAEMON_LOG[d]}" && die "the store cut a tail after a clean stop"
mdb_start m "$MNT" "$PORT"
C2=$(sql m "CHECKSUM TABLE sbtest.sbtest1" | cut -f2)
N2=$(sql m "SELECT COUNT(*) FROM sbtest.sbtest1")
log "checksum after:  $C2 ($N2 rows)"
[ "$C1" = "$C2" ] || die "CHECKSUM TABLE changed across the restart: $C1 -> $C2"
[ "$N1" = "$N2" ] && [ "$N1" = "$ROWS" ] || die "row count $N1 -> $N2 (expected $ROWS)"
check_table m sbtest.sbtest1
mdb_stop m
daemon_stop d
