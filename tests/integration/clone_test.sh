#!/usr/bin/env bash
# Acceptance 4: a writable clone of an LSN taken mid-run. While mariadbd "a" runs a write load
# (sysbench + the checker client) on a Rewind volume, the daemon is asked for its last LSN;
# a little later a new timeline is branched at that LSN and mounted (rewind-mount's control
# FIFO: the daemon owns the store), and a second mariadbd "b" starts on it, on another port,
# with the source's root password. b recovers; its tables check OK; its checker rows are
# exactly 1..k with k between the inserts acknowledged before and after the LSN was read; and
# writes on either server never show on the other.
# Usage: clone_test.sh REWIND_MOUNT_BINARY
REWIND_MOUNT=${1:-${REWIND_MOUNT:-}}
source "$(dirname "$0")/lib.sh"
int_private_ns "$@"
int_setup clone
ROWS=${ROWS:-100000}

STORE=$INT_DIR/store M1=$INT_DIR/mnt M2=$INT_DIR/clone P1=$(free_port) P2=$(free_port)
[ "$P1" != "$P2" ] || P2=$(free_port)
daemon_start d "$STORE" "$M1" --volume src --create
mdb_install a "$M1" "$P1"
sb a oltp_write_only prepare --table-size="$ROWS" >"$INT_DIR/prepare.log"
checker_start a rwd.checker "$INT_DIR/ack"
sb a oltp_write_only run --table-size="$ROWS" --threads=2 --time=20 >"$INT_DIR/run-a.log" 2>&1 &
SB=$!
BG_PIDS+=($SB)
sleep 5

BEFORE=$(last_ack "$INT_DIR/ack")
LSN=$(daemon_ctl d lsn | awk '$1 == "lsn" { print $2 }')
AFTER=$(last_ack "$INT_DIR/ack")
[ -n "$LSN" ] && [ "$LSN" -gt 0 ] || die "no LSN from the daemon"
log "mid-run LSN $LSN; checker acknowledged $BEFORE before and $AFTER after reading it"
sleep 2
alive "$SB" || die "the load on a ended early: $(tail -n 5 "$INT_DIR/run-a.log")"
mkdir -p "$M2"
REPLY=$(daemon_ctl d "branch $LSN $M2")
log "daemon: $REPLY"
is_mounted "$M2" || die "the branch is not mounted at $M2"

# The clone's own server, with the source's root password (client.cnf), while a still runs.
mdb_start b "$M2" "$P2"
grep -q "Starting crash recovery" "${MDB_RUN[b]}/mariadbd.err" || die "InnoDB did not recover the clone"
check_table b sbtest.sbtest1
check_table b rwd.checker
N=$(sql b "SELECT COUNT(*) FROM sbtest.sbtest1")
[ "$N" = "$ROWS" ] || die "clone's sbtest1 has $N rows, expected $ROWS"
read -r CNT K <<<"$(sql b "SELECT COUNT(*), COALESCE(MAX(seq),0) FROM rwd.checker")"
log "clone's checker table: $CNT rows, max $K"
[ "$CNT" = "$K" ] || die "clone's checker rows are not 1..$K"
[ "$K" -ge "$BEFORE" ] || die "clone lacks inserts acknowledged before the LSN was read ($K < $BEFORE)"
[ "$K" -le $((AFTER + 1)) ] || die "clone has inserts from after the LSN was read ($K > $AFTER + 1)"

# Both servers take writes at once; neither sees the other's.
sb b oltp_write_only run --table-size="$ROWS" --threads=1 --time=5 >"$INT_DIR/run-b.log" 2>&1 ||
  die "sysbench on the clone failed: $(tail -n 5 "$INT_DIR/run-b.log")"
log "sysbench on the clone: $(grep -E 'transactions:' "$INT_DIR/run-b.log" | xargs)"
sql b "INSERT INTO rwd.checker (seq) VALUES (1000000001); CREATE TABLE rwd.only_on_clone (x INT) ENGINE=InnoDB; INSERT INTO rwd.only_on_clone VALUES (1)"
wait "$SB" || die "the load on a failed: $(tail -n 5 "$INT_DIR/run-a.log")"
checker_stop
sql a "INSERT INTO rwd.checker (seq) VALUES (1000000002); CREATE TABLE rwd.only_on_source (x INT) ENGINE=InnoDB"
KA=$(sql a "SELECT MAX(seq) FROM rwd.checker WHERE seq < 1000000000")
log "source's checker went on to $KA"
[ "$KA" -gt "$K" ] || die "the source did not go on writing ($KA <= $K)"
[ "$(sql a "SELECT COUNT(*) FROM rwd.checker WHERE seq = 1000000001")" = 0 ] || die "a clone write shows on the source"
[ "$(sql b "SELECT COUNT(*) FROM rwd.checker WHERE seq = 1000000002")" = 0 ] || die "a source write shows on the clone"
[ "$(sql b "SELECT COUNT(*) FROM rwd.checker WHERE seq < 1000000000")" = "$K" ] || die "source rows after the LSN show on the clone"
[ "$(sql a "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = 'rwd' AND table_name = 'only_on_clone'")" = 0 ] || die "the clone's new table shows on the source"
[ "$(sql b "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = 'rwd' AND table_name = 'only_on_source'")" = 0 ] || die "the source's new table shows on the clone"
[ -e "$M1/rwd/only_on_clone.ibd" ] && die "the clone's file shows in the source's directory"
[ -e "$M2/rwd/only_on_source.ibd" ] && die "the source's file shows in the clone's directory"
check_table a sbtest.sbtest1
check_table a rwd.checker
check_table b sbtest.sbtest1

mdb_stop b
daemon_ctl d "unmount $M2" >/dev/null
! is_mounted "$M2" || die "the branch is still mounted"
mdb_stop a
daemon_stop d
