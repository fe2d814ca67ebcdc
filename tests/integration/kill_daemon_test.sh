#!/usr/bin/env bash
# Acceptance 3: kill -9 the FUSE daemon (rewind-mount) under a write load (sysbench plus a
# checker client inserting 1, 2, 3, … with autocommit and recording each acknowledged insert).
# mariadbd then sees ENOTCONN: it is killed by PID. The dead mount is lazily unmounted, the
# daemon restarted (the store recovers from its log) and mariadbd restarted (InnoDB recovers):
# every acknowledged row is there, CHECK TABLE is OK.
# Usage: kill_daemon_test.sh REWIND_MOUNT_BINARY
REWIND_MOUNT=${1:-${REWIND_MOUNT:-}}
source "$(dirname "$0")/lib.sh"
int_private_ns "$@"
int_setup killfs
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
[ "$(last_ack "$INT_DIR/ack")" -gt 0 ] || die "the checker got no acknowledgement: $(cat "$INT_DIR/ack.err")"

daemon_kill9 d
# From here on nothing can be acknowledged: every request on the mount fails (ENOTCONN).
sleep 1
ACKED=$(last_ack "$INT_DIR/ack")
log "checker: $ACKED inserts acknowledged before the daemon died"
if alive "${MDB_PID[m]}"; then
  log "mariadbd is still alive on the dead mount: killing it by pid"
  mdb_kill9 m
else
  wait "${MDB_PID[m]}" 2>/dev/null || true
  log "mariadbd exited on its own: $(grep -m1 -E 'ERROR|Operating system error|Assertion' "${MDB_RUN[m]}/mariadbd.err" || true)"
  MDB_PID[m]=""
fi
A2=$(last_ack "$INT_DIR/ack")
[ "$A2" = "$ACKED" ] || die "inserts were acknowledged after the daemon died ($ACKED -> $A2)"
wait "$SB" || true
checker_stop
unmount_dead "$MNT"

daemon_start d "$STORE" "$MNT" --volume db
if grep -q "store recovery cut" "${DAEMON_LOG[d]}"; then log "$(grep "store recovery cut" "${DAEMON_LOG[d]}")"; fi
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
# The recovered server takes writes, and they survive a clean restart of everything.
sql m "INSERT INTO rwd.checker (seq) VALUES ($((MAXSEQ + 1)))"
mdb_stop m
daemon_stop d
daemon_start d "$STORE" "$MNT" --volume db
mdb_start m "$MNT" "$PORT"
[ "$(sql m "SELECT MAX(seq) FROM rwd.checker")" = $((MAXSEQ + 1)) ] || die "the insert after recovery was lost"
mdb_stop m
daemon_stop d
