#!/usr/bin/env bash
# Acceptance 2: kill -9 mariadbd during a sysbench run on a Rewind mount; mariadbd restarted on
# the same mount recovers; CHECK TABLE is OK, no row is lost or duplicated, and every insert
# the checker client saw acknowledged is there.
# Usage: kill_mariadbd_test.sh REWIND_MOUNT_BINARY
REWIND_MOUNT=${1:-${REWIND_MOUNT:-}}
source "$(dirname "$0")/lib.sh"
int_private_ns "$@"
int_setup killdb
ROWS=${ROWS:-100000}

STORE=$INT_DIR/store MNT=$INT_DIR/mnt PORT=$(free_port)
daemon_start d "$STORE" "$MNT" --volume db --create
mdb_install m "$MNT" "$PORT"
sb m oltp_write_only prepare --table-size="$ROWS" >"$INT_DIR/prepare.log"
checker_start m rwd.checker "$INT_DIR/ack"
sb m oltp_write_only run --table-size="$ROWS" --threads=4 --time=60 >"$INT_DIR/run.log" 2>&1 &
SB=$!
BG_PIDS+=($SB)
sleep 8
alive "$SB" || die "sysbench ended early: $(tail -n 5 "$INT_DIR/run.log")"
mdb_kill9 m
ACKED=$(last_ack "$INT_DIR/ack")
wait "$SB" && die "sysbench did not notice the crash" || true
checker_stop
log "checker: $ACKED inserts acknowledged before the kill"
[ "$ACKED" -gt 0 ] || die "the checker got no acknowledgement: $(cat "$INT_DIR/ack.err")"

mdb_start m "$MNT" "$PORT"
grep -q "Starting crash recovery" "${MDB_RUN[m]}/mariadbd.err" || die "InnoDB did not run crash recovery"
check_table m sbtest.sbtest1
check_table m rwd.checker
N=$(sql m "SELECT COUNT(*) FROM sbtest.sbtest1")
[ "$N" = "$ROWS" ] || die "sbtest1 has $N rows after recovery, expected $ROWS"
read -r CNT MAXSEQ <<<"$(sql m "SELECT COUNT(*), COALESCE(MAX(seq),0) FROM rwd.checker")"
log "checker table: $CNT rows, max $MAXSEQ (acknowledged: $ACKED)"
[ "$CNT" = "$MAXSEQ" ] || die "checker rows are not 1..$MAXSEQ"
[ "$MAXSEQ" -ge "$ACKED" ] || die "acknowledged inserts lost: $ACKED acknowledged, $MAXSEQ present"
[ "$MAXSEQ" -le $((ACKED + 1)) ] || die "more rows ($MAXSEQ) than sent ($ACKED acknowledged + 1 in flight)"
sql m "INSERT INTO rwd.checker (seq) VALUES ($((MAXSEQ + 1)))"
mdb_stop m
daemon_stop d
