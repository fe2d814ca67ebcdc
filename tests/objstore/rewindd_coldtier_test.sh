#!/usr/bin/env bash
# rewindd --local-history-budget against the real Ceph RGW of the `ceph` fixture (REWIND_S3_ENV
# names its s3.env), with the real rewindd, aws CLI and mysql: the local disk as a cache of the
# bucket. Checks:
#   - with a budget of 0, every closed segment is evicted once it is in the bucket: the segment
#     that held a table's first version is gone locally (only its .cold marker is left);
#   - DescribeDBClusters still says that moment is in the backtrack window;
#   - a backtrack to it serves the first version through mysql, read back from the bucket by
#     ranged GETs (rewind_objstore_cold_reads_total grows, no failed fetch);
#   - after a restart, the store opens with its evicted segments and reads them again;
#   - a copy-on-write clone at the mark serves the first version (from the same history).
source "$(dirname "$0")/../e2e/lib.sh"
MASTER_PASSWORD="Coldtier-pass-$RANDOM"

source "$(dirname "$0")/lib.sh"
PREFIX="cold-$$-$RANDOM"

# The highest segment number with a file in the local log (the active one).
active_segment() {
  find "$DATA/store/log" -maxdepth 1 -name '????????.seg' -printf '%f\n' | sort | tail -1 |
    cut -c1-8
}
# digest_when_up CLUSTER: t's digest once the cluster's engine answers (empty after ~30 s).
digest_when_up() {
  local d
  for _ in $(seq 1 100); do
    d=$(sql "$1" "SELECT SHA2(GROUP_CONCAT(v ORDER BY id), 256) FROM t" 2>/dev/null) && break
    sleep 0.3
  done
  echo "${d:-}"
}
# Grows the log by about 12 MiB per round (4 MiB of random rows: redo, pages, doublewrite).
bulk() {
  local i
  for i in $(seq 1 "$1"); do
    sql obj "SET SESSION max_recursive_iterations = 10000; INSERT INTO b (v) WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s
             WHERE n < 4096) SELECT RANDOM_BYTES(1024) FROM s"
  done
}

REWINDD_ARGS="--object-store s3://$S3_BUCKET/$PREFIX --s3-endpoint $S3_ENDPOINT --local-history-budget 0"
e2e_start
create_cluster_with_writer obj 86400
sql obj "CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(64));
         CREATE TABLE b (id INT AUTO_INCREMENT PRIMARY KEY, v BLOB)"
sql obj "INSERT INTO t WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < 1000)
         SELECT n, SHA2(CONCAT('first-', n), 256) FROM s"
FIRST=$(digest_when_up obj)
[ -n "$FIRST" ] || die "t cannot be read"
sleep 1.5
MARK=$(date -u +%Y-%m-%dT%H:%M:%SZ)
MARK_SEG=$(active_segment)
sleep 1.5
sql obj "UPDATE t SET v = SHA2(CONCAT('second-', id), 256)"
SECOND=$(digest_when_up obj)
[ "$FIRST" != "$SECOND" ] || die "the update changed nothing"
log "first version at $MARK in segment $MARK_SEG; growing the log past it"

# The mark's segment has only its marker locally: the first-written file's, or that of its
# background compaction's rewrite (NNNNNNNN-FFFFFFFFFF.cold), whichever is in use.
mark_cold() { [ -n "$(find "$DATA/store/log" -maxdepth 1 -name "$MARK_SEG*.cold")" ]; }

# Past the mark's segment (64 MiB) and one more, then wait for its eviction.
for _ in $(seq 1 12); do
  bulk 4
  [ "$((10#$(active_segment)))" -gt "$((10#$MARK_SEG + 1))" ] && break
done
[ "$((10#$(active_segment)))" -gt "$((10#$MARK_SEG))" ] || die "the log did not leave segment $MARK_SEG"
for _ in $(seq 1 120); do
  mark_cold && break
  sleep 0.5
done
mark_cold ||
  die "segment $MARK_SEG was not evicted: $(ls "$DATA/store/log")"
[ -z "$(find "$DATA/store/log" -maxdepth 1 -name "$MARK_SEG*.seg")" ] ||
  die "segment $MARK_SEG is still local beside its marker: $(ls "$DATA/store/log")"
COLD=$(metric rewind_store_cold_segments)
LOCAL=$(metric rewind_store_local_log_bytes)
[ "${COLD%.*}" -ge 1 ] || die "rewind_store_cold_segments is $COLD"
log "evicted: $COLD segments only in the bucket, $LOCAL bytes of log local ($(ls "$DATA/store/log" | tr '\n' ' '))"

# The window still covers the mark (it is the bucket's history, not the disk's).
EARLIEST=$(cluster_field obj EarliestBacktrackTime)
python3 -c 'import sys, datetime as d
e = d.datetime.fromisoformat(sys.argv[1].replace("Z", "+00:00"))
m = d.datetime.fromisoformat(sys.argv[2].replace("Z", "+00:00"))
sys.exit(0 if e <= m else 1)' "$EARLIEST" "$MARK" ||
  die "EarliestBacktrackTime $EARLIEST is after the mark $MARK"

READS0=$(metric rewind_objstore_cold_reads_total)
log "backtrack-db-cluster to $MARK (cold reads so far: $READS0)"
aws_rds backtrack-db-cluster --db-cluster-identifier obj --backtrack-to "$MARK" >/dev/null
wait_available obj
wait_instance obj-1
GOT=$(digest_when_up obj)
[ "$GOT" = "$FIRST" ] || die "after the backtrack t reads '$GOT', want the first version '$FIRST'"
READS1=$(metric rewind_objstore_cold_reads_total)
BYTES1=$(metric rewind_objstore_cold_read_bytes_total)
FAILS=$(metric rewind_objstore_cold_read_failures_total)
[ "${READS1%.*}" -gt "${READS0%.*}" ] || die "no cold reads during the backtrack ($READS0 -> $READS1)"
[ "${FAILS%.*}" = 0 ] || die "$FAILS cold reads failed"
log "backtrack served the first version from the bucket: $READS1 ranged GETs, $BYTES1 bytes"

# A restart: the store opens with its evicted segments, and the data reads the same.
e2e_stop TERM
e2e_start
wait_instance obj-1
GOT=$(digest_when_up obj)
[ "$GOT" = "$FIRST" ] || die "after a restart t reads '$GOT', want '$FIRST'"
mark_cold || die "the marker of segment $MARK_SEG went at restart"
log "after a restart: the first version again ($(metric rewind_objstore_cold_reads_total) ranged GETs)"

# A copy-on-write clone at the mark reads the same evicted history through its own mount.
aws_rds restore-db-cluster-to-point-in-time --source-db-cluster-identifier obj \
  --db-cluster-identifier objclone --restore-type copy-on-write --restore-to-time "$MARK" >/dev/null
wait_available objclone
aws_rds create-db-instance --db-instance-identifier objclone-1 --db-cluster-identifier objclone \
  --engine aurora-mysql --db-instance-class db.r5.large >/dev/null
wait_instance objclone-1
GOT=$(digest_when_up objclone)
[ "$GOT" = "$FIRST" ] || die "the clone at $MARK reads '$GOT', want '$FIRST'"
[ "$(metric rewind_objstore_cold_read_failures_total)" = 0 ] || die "cold reads failed"
log "clone at $MARK serves the first version ($(metric rewind_objstore_cold_reads_total) ranged GETs)"
log "PASS"
