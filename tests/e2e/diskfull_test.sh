#!/usr/bin/env bash
# Disk full: rewindd's data dir (store log, metadata, mariadbd's run files) lives on its own small
# ext4 filesystem (a loop device: fdatasync, delayed allocation and ENOSPC as on a real disk). A
# checker does autocommit inserts of sequence numbers and records each acknowledged one; a filler
# file then takes every free block and a bulk writer pushes the log on until the store hits
# ENOSPC. mariadbd must get errors, rewindd must stay up with its store writable. Round 1: once
# the filler is deleted, reboot-db-instance (as a user would) brings the instance back; every
# acknowledged row is there, CHECK TABLE is OK, a backtrack works, and a restarted rewindd opens
# the store cleanly. Round 2: the same with rewindd's retry of failed instances and no API call.
# Needs root (mount, losetup); fails loudly if the filesystem cannot be made.
source "$(dirname "$0")/lib.sh"
MASTER_PASSWORD="Df-pass-$RANDOM$RANDOM"
DISK_MB=${DISK_MB:-640}  # the cluster takes ~200 MB of log plus a prepared 64 MiB segment
# Only reboot-db-instance brings the instance back here: the automatic retry would race it.
REWINDD_ARGS="--retry-failed-interval 0"

IMG="$E2E_DIR/disk.img"
DISK="$E2E_DIR/data"  # lib.sh's data dir: the mount point
LOOPDEV=""
e2e_test_cleanup() {
  if grep -q " $DISK " /proc/mounts; then umount "$DISK" 2>/dev/null || umount -l "$DISK"; fi
  [ -z "$LOOPDEV" ] || losetup -d "$LOOPDEV" 2>/dev/null
}
[ "$(id -u)" = 0 ] || die "needs root to mount a size-limited filesystem; this test must fail"
mkdir -p "$DISK"
truncate -s "${DISK_MB}M" "$IMG"
mkfs.ext4 -q -F -m 0 "$IMG" || die "mkfs.ext4 failed"
LOOPDEV=$(losetup --find --show "$IMG") || die "no loop device: cannot make a small disk"
mount -t ext4 "$LOOPDEV" "$DISK" || die "cannot mount $LOOPDEV on $DISK"
avail_mb() { df -Pm "$DISK" | awk 'NR == 2 { print $4 }'; }
log "data dir on $LOOPDEV (ext4, ${DISK_MB} MB, $(avail_mb) MB free)"

e2e_start
create_cluster_with_writer df 86400
HOST=$(cluster_field df Endpoint); PORT=$(cluster_field df Port)
# Bounded: a mariadbd stuck on a full disk must not hang the test.
q() {
  timeout 30 mysql --connect-timeout=5 -h "$HOST" -P "$PORT" -u masteruser -p"$MASTER_PASSWORD" \
    -N -B mylab -e "$1"
}
q "CREATE TABLE seq (n INT PRIMARY KEY, pad CHAR(100)); CREATE TABLE bulk (id INT AUTO_INCREMENT PRIMARY KEY, pad LONGBLOB)"
instance_status() {
  aws_rds describe-db-instances --db-instance-identifier df-1 \
    --query 'DBInstances[0].DBInstanceStatus' --output text
}

# The checker: a row is acknowledged once the client reported success. start_checker FIRST.
ACKED="$E2E_DIR/acked" FAILED="$E2E_DIR/failed"
: > "$ACKED"; : > "$FAILED"
CHECKER=""
start_checker() {
  (
    n=$1
    while :; do
      if q "INSERT INTO seq VALUES ($n, REPEAT('x', 100))" >/dev/null 2>&1; then
        echo "$n" >> "$ACKED"
      else
        echo "$n" >> "$FAILED"
        sleep 0.3
      fi
      n=$((n + 1))
    done
  ) &
  CHECKER=$!
  E2E_BG_PIDS+=("$CHECKER")
}
stop_checker() {
  kill -KILL "$CHECKER" 2>/dev/null; wait "$CHECKER" 2>/dev/null || true
  E2E_BG_PIDS=()
}
acked() { wc -l < "$ACKED"; }
# wait_acks WHAT [SECONDS]: the checker gets 5 more rows acknowledged (within 30 s by default).
wait_acks() {
  local before; before=$(acked)
  for _ in $(seq 1 $(( ${2:-30} * 5 ))); do [ "$(acked)" -gt $((before + 5)) ] && return 0; sleep 0.2; done
  die "$1: inserts do not succeed within ${2:-30} s"
}
check_acked() {  # every acknowledged row is there, and both tables check OK
  local missing
  missing=$(sort "$ACKED" | comm -23 - <(q "SELECT n FROM seq" | sort) | wc -l)
  [ "$missing" = 0 ] || die "$1: $missing of $(acked) acknowledged rows are missing"
  q "CHECK TABLE seq, bulk" | awk '$3 == "status" && $4 != "OK" { bad = 1 } END { exit bad }' ||
    die "$1: CHECK TABLE is not OK: $(q "CHECK TABLE seq, bulk" | tr '\n' ' ')"
  log "   $1: $(acked) acknowledged rows, all present; CHECK TABLE OK"
}
instance_events() {
  aws_rds describe-events --source-identifier df-1 --source-type db-instance \
    --query 'Events[].Message' --output text | tr '\t' '\n'
}

# fill_disk: a filler file takes every free block; then 1 MiB rows push the log on (the store
# first fills the segments it has preallocated) until mariadbd gets errors. Checks that inserts
# keep failing, that rewindd stays up and that its store did not give up writing for good.
# The rows are random bytes: compressible ones (REPEAT) shrink to almost nothing in the log,
# and 400 of them can fit in the preallocated segments without ever needing a new block.
# Each "row" is 42 statements of 24 KiB: a transaction whose binlog events pass the binlog
# cache (32 KiB) would spill to mariadbd's tmpdir on the local disk and fail there, before the
# store sees the full disk (the writer keeps a binlog for its readers).
BULK_ROW=$(for _ in $(seq 1 42); do
  printf '%s\n' "INSERT INTO bulk (pad) SELECT GROUP_CONCAT(RANDOM_BYTES(1024) SEPARATOR '') FROM seq_1_to_24;"
done)
fill_disk() {
  local free_mb rows=0 failed=0
  free_mb=$(avail_mb)
  [ "$free_mb" -gt 8 ] || die "only $free_mb MB free before filling: DISK_MB is too small"
  # rewindd may write meanwhile (background compaction, the cleaner): measure again and leave
  # a wider margin when the space went before fallocate took it.
  local margin
  for margin in 4 16 64 128; do
    free_mb=$(avail_mb)
    [ "$free_mb" -gt "$margin" ] || continue
    fallocate -l "$((free_mb - margin))M" "$DISK/filler" 2>/dev/null && break
    rm -f "$DISK/filler"
  done
  [ -f "$DISK/filler" ] || die "fallocate failed with every margin ($(avail_mb) MB free)"
  dd if=/dev/zero of="$DISK/filler.tail" bs=4k >/dev/null 2>&1 || true  # the last blocks
  [ "$(avail_mb)" = 0 ] || die "$(avail_mb) MB still free after filling"
  log "   disk full; 1 MiB rows until mariadbd gets errors"
  local rc=0
  for _ in $(seq 1 400); do
    rc=0
    q "$BULK_ROW" >/dev/null 2>"$E2E_DIR/bulk.err" || rc=$?
    [ "$rc" = 0 ] || break
    rows=$((rows + 1))
  done
  [ "$rc" != 0 ] || die "400 MiB of rows written on a full disk without an error"
  # Two outcomes, depending on which file meets the full disk first: InnoDB's redo log (mariadbd
  # reports an error or aborts), or the binlog, where MariaDB waits for free space (it looks
  # again every 60 s) and commits stall, as they would on a plain full disk.
  if [ "$rc" = 124 ]; then
    log "   $rows rows went in, then the next one stalled past 30 s (mariadbd waits for space)"
  else
    log "   $rows rows went in, then: $( (grep -v '^-*$' "$E2E_DIR/bulk.err" | grep -v INSERT || true) | head -c 160)"
  fi
  sleep 5  # the checker meets the full disk too
  local fails acks; fails=$(wc -l < "$FAILED"); acks=$(acked)
  sleep 5
  if [ "$(wc -l < "$FAILED")" -gt "$fails" ]; then
    log "   inserts fail"
  elif [ "$(acked)" = "$acks" ]; then
    log "   inserts stall"
  else
    die "inserts still succeed on a full disk ($(( $(acked) - acks )) acknowledged in 5 s)"
  fi
  [ -d "/proc/$REWINDD_PID" ] || die "rewindd died on a full disk"
  grep -q 'store refuses writes' "$E2E_DIR/rewindd.log" && die "the store went read-only for good"
  log "   rewindd is up; instance: $(instance_status);" \
    "$(grep -c 'mariadbd of df exited' "$E2E_DIR/rewindd.log") mariadbd exits so far"
}
free_disk() {
  rm -f "$DISK/filler" "$DISK/filler.tail"
  log "   space freed: $(avail_mb) MB free"
}

start_checker 1
wait_acks "before the disk fills"

log "round 1: the disk fills; once space is freed, reboot-db-instance brings the instance back"
ACKED_AT_FULL=$(acked)
fill_disk
grep -h -m 3 'error 28' "$DISK"/run/df/mariadbd/mariadbd.err 2>/dev/null | sed 's/^/   mariadbd.err: /' || true
free_disk
for _ in $(seq 1 300); do  # past mariadbd's automatic restarts (status rebooting)
  st=$(instance_status)
  [ "$st" = available ] || [ "$st" = failed ] && break
  sleep 0.5
done
log "   instance is $st; reboot-db-instance"
out=$(aws_rds reboot-db-instance --db-instance-identifier df-1 \
      --query 'DBInstance.DBInstanceStatus' --output text) || die "reboot-db-instance failed"
[ "$out" = rebooting ] || die "reboot-db-instance answered status '$out'"
wait_instance df-1
wait_acks "after the reboot" 120
q "INSERT INTO bulk (pad) VALUES (REPEAT('z', 1048576))" >/dev/null || die "a 1 MiB row fails after recovery"
log "   inserts succeed again ($(( $(acked) - ACKED_AT_FULL )) acknowledged since the disk filled)"
instance_events | grep -qx 'DB instance restarted' || die "no event says the instance restarted"
expect_aws_error DBInstanceNotFound reboot-db-instance --db-instance-identifier nope-1
stop_checker
check_acked "after recovery"

log "backtrack after the recovery"
ROWS_AT_T=$(q "SELECT COUNT(*) FROM seq")
sleep 1.2; T=$(date -u +%Y-%m-%dT%H:%M:%SZ); sleep 1.2
q "INSERT INTO seq VALUES (-1, 'after T'), (-2, 'after T')"
aws_rds backtrack-db-cluster --db-cluster-identifier df --backtrack-to "$T" >/dev/null
wait_available df
wait_instance df-1
[ "$(q "SELECT COUNT(*) FROM seq")" = "$ROWS_AT_T" ] ||
  die "after the backtrack: $(q "SELECT COUNT(*) FROM seq") rows, expected $ROWS_AT_T"
check_acked "after the backtrack"

# restart_rewindd ARGS: rewindd stopped and started again; its store must open without a cut.
restart_rewindd() {
  e2e_stop TERM
  local at; at=$(wc -l < "$E2E_DIR/rewindd.log")
  REWINDD_ARGS=$1 e2e_start
  wait_instance df-1
  local opened
  opened=$(tail -n +"$((at + 1))" "$E2E_DIR/rewindd.log" | grep -m 1 'store opened') ||
    die "rewindd did not report opening its store"
  log "   $opened"
  echo "$opened" | grep -q 'torn tail cut' && die "the store had a damaged tail after the disk was full"
  return 0
}
log "restart rewindd (failed instances retried every 2 s): the store opens cleanly"
restart_rewindd "--retry-failed-interval 2000"
[ "$(q "SELECT COUNT(*) FROM seq")" = "$ROWS_AT_T" ] || die "after the restart: rows changed"
check_acked "after the restart"

log "round 2: the disk fills again; once space is freed the instance comes back by itself"
start_checker $(( $(sort -n "$ACKED" "$FAILED" | tail -1) + 1 ))
wait_acks "before the disk fills again"
ACKED_AT_FULL=$(acked)
fill_disk
free_disk
wait_acks "after the space came back (no API call)" 120
wait_instance df-1
log "   inserts succeed again ($(( $(acked) - ACKED_AT_FULL )) acknowledged since the disk filled)"
stop_checker
check_acked "after round 2"
ROWS=$(q "SELECT COUNT(*) FROM seq")

log "restart rewindd again: the store opens cleanly"
restart_rewindd ""
[ "$(q "SELECT COUNT(*) FROM seq")" = "$ROWS" ] || die "after the restart: rows changed"
check_acked "after the last restart"
q "INSERT INTO seq VALUES (-3, 'after restart')" || die "insert after the restart failed"
log "PASS"
