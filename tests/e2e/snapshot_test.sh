#!/usr/bin/env bash
# DB cluster snapshots (issue 16) through the real aws CLI v2, boto3 and mysql against a real
# rewindd: create-db-cluster-snapshot, its waiter and fields; data changed after it; restore
# (restore-db-cluster-from-snapshot + create-db-instance) shows the snapshot's data; copy;
# delete-db-cluster with --final-db-snapshot-identifier, and that snapshot restores after its
# cluster is gone; delete-db-cluster-snapshot and the deleted waiter; `rewind snapshot`; a
# snapshot the history budget cannot hold refused (SnapshotQuotaExceeded); bad inputs refused with
# Aurora's fault codes and nothing changed; the store's pin figures in /metrics.
source "$(dirname "$0")/lib.sh"
MASTER_PASSWORD="Snap-pass-$RANDOM$RANDOM"
for tool in /usr/bin/aws /usr/bin/python3 mysql curl; do
  command -v "$tool" >/dev/null || die "missing $tool"
done
REWIND="$BUILD_DIR/src/cli/rewind"
[ -x "$REWIND" ] || die "missing $REWIND"
rewind_cli() { "$REWIND" --endpoint "http://127.0.0.1:$API_PORT" --credentials "$DATA/credentials" "$@"; }

snap_field() {  # snap_field SNAPSHOT FIELD
  aws_rds describe-db-cluster-snapshots --db-cluster-snapshot-identifier "$1" \
    --query "DBClusterSnapshots[0].$2" --output text
}

e2e_start
create_cluster_with_writer src 0
wait_sql src
sql src "CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(20)); INSERT INTO t VALUES (1,'one'),(2,'two')"

log "create-db-cluster-snapshot, waiter, fields"
aws_rds create-db-cluster-snapshot --db-cluster-identifier src \
  --db-cluster-snapshot-identifier snap1 --tags Key=team,Value=db >/dev/null
aws_rds wait db-cluster-snapshot-available --db-cluster-snapshot-identifier snap1
out=$(aws_rds describe-db-cluster-snapshots --db-cluster-snapshot-identifier snap1)
/usr/bin/python3 - "$out" <<'PY' || die "snapshot fields"
import json, sys
s = json.loads(sys.argv[1])["DBClusterSnapshots"][0]
assert s["DBClusterSnapshotIdentifier"] == "snap1", s
assert s["DBClusterIdentifier"] == "src", s
assert s["Status"] == "available" and s["PercentProgress"] == 100, s
assert s["Engine"] == "aurora-mysql" and s["EngineVersion"], s
assert s["MasterUsername"] == "masteruser" and s["Port"] > 0, s
assert s["SnapshotType"] == "manual" and s["StorageEncrypted"] is False, s
assert s["DBClusterSnapshotArn"] == "arn:aws:rds:us-east-1:123456789012:cluster-snapshot:snap1", s
assert s["AllocatedStorage"] >= 1 and "SnapshotCreateTime" in s and "ClusterCreateTime" in s, s
assert s["TagList"] == [{"Key": "team", "Value": "db"}], s
PY
[ "$(aws_rds describe-db-cluster-snapshots --db-cluster-identifier src --snapshot-type manual \
     --query 'length(DBClusterSnapshots)' --output text)" = 1 ] || die "by cluster"
[ "$(aws_rds describe-db-cluster-snapshots --db-cluster-identifier src --snapshot-type automated \
     --query 'length(DBClusterSnapshots)' --output text)" = 0 ] || die "automated should be none"

log "bad inputs: fault codes, nothing changed"
expect_aws_error DBClusterSnapshotAlreadyExistsFault create-db-cluster-snapshot \
  --db-cluster-identifier src --db-cluster-snapshot-identifier snap1
expect_aws_error DBClusterNotFoundFault create-db-cluster-snapshot \
  --db-cluster-identifier nope --db-cluster-snapshot-identifier snap9
expect_aws_error InvalidParameterValue create-db-cluster-snapshot \
  --db-cluster-identifier src --db-cluster-snapshot-identifier 9bad
expect_aws_error DBClusterSnapshotNotFoundFault describe-db-cluster-snapshots \
  --db-cluster-snapshot-identifier nope
expect_aws_error DBClusterSnapshotNotFoundFault delete-db-cluster-snapshot \
  --db-cluster-snapshot-identifier nope
expect_aws_error DBClusterSnapshotNotFoundFault restore-db-cluster-from-snapshot \
  --db-cluster-identifier r0 --snapshot-identifier nope --engine aurora-mysql
expect_aws_error InvalidParameterValue restore-db-cluster-from-snapshot \
  --db-cluster-identifier r0 --snapshot-identifier snap1 --engine mysql
expect_aws_error DBClusterAlreadyExistsFault restore-db-cluster-from-snapshot \
  --db-cluster-identifier src --snapshot-identifier snap1 --engine aurora-mysql
expect_aws_error DBClusterNotFoundFault describe-db-clusters --db-cluster-identifier r0
[ "$(aws_rds describe-db-cluster-snapshots --query 'length(DBClusterSnapshots)' --output text)" = 1 ] ||
  die "a refused call changed the snapshots"

log "change data after the snapshot; restore shows the snapshot's data"
sql src "INSERT INTO t VALUES (3,'three'); DELETE FROM t WHERE id = 1"
restore_snapshot_with_writer restored snap1
[ "$(sql restored "SELECT GROUP_CONCAT(id ORDER BY id) FROM t")" = "1,2" ] ||
  die "restored shows $(sql restored "SELECT GROUP_CONCAT(id ORDER BY id) FROM t"), not the snapshot's 1,2"
[ "$(sql src "SELECT GROUP_CONCAT(id ORDER BY id) FROM t")" = "2,3" ] || die "source changed"

log "copy-db-cluster-snapshot (boto3), delete and the deleted waiter"
/usr/bin/python3 - "http://127.0.0.1:$API_PORT" <<'PY' || die "boto3 checks"
import sys
import boto3
from botocore.exceptions import ClientError
rds = boto3.Session(profile_name="rewind", region_name="us-east-1").client("rds", endpoint_url=sys.argv[1])
c = rds.copy_db_cluster_snapshot(SourceDBClusterSnapshotIdentifier="snap1",
                                 TargetDBClusterSnapshotIdentifier="snap1-copy")["DBClusterSnapshot"]
assert c["DBClusterSnapshotIdentifier"] == "snap1-copy" and c["Status"] == "available", c
try:
    rds.copy_db_cluster_snapshot(SourceDBClusterSnapshotIdentifier="snap1",
                                 TargetDBClusterSnapshotIdentifier="snap1-copy")
    raise SystemExit("a duplicate copy was accepted")
except ClientError as e:
    assert e.response["Error"]["Code"] == "DBClusterSnapshotAlreadyExistsFault", e.response
pages = list(rds.get_paginator("describe_db_cluster_snapshots").paginate(
    PaginationConfig={"PageSize": 20}))
assert sum(len(p["DBClusterSnapshots"]) for p in pages) == 2, pages
d = rds.delete_db_cluster_snapshot(DBClusterSnapshotIdentifier="snap1-copy")["DBClusterSnapshot"]
assert d["DBClusterSnapshotIdentifier"] == "snap1-copy", d
rds.get_waiter("db_cluster_snapshot_deleted").wait(DBClusterSnapshotIdentifier="snap1-copy")
PY
aws_rds wait db-cluster-snapshot-deleted --db-cluster-snapshot-identifier snap1-copy

log "delete-db-cluster --final-db-snapshot-identifier; the snapshot outlives its cluster"
aws_rds delete-db-instance --db-instance-identifier src-1 >/dev/null
wait_instance_gone src-1
expect_aws_error DBClusterSnapshotAlreadyExistsFault delete-db-cluster \
  --db-cluster-identifier src --final-db-snapshot-identifier snap1
[ "$(status_of src)" = available ] || die "a refused final snapshot changed the cluster"
aws_rds delete-db-cluster --db-cluster-identifier src --final-db-snapshot-identifier src-final >/dev/null
wait_cluster_gone src
[ "$(snap_field src-final Status)" = available ] || die "final snapshot not available"
[ "$(snap_field src-final DBClusterIdentifier)" = src ] || die "final snapshot's cluster"
restore_snapshot_with_writer from-final src-final
[ "$(sql from-final "SELECT GROUP_CONCAT(id ORDER BY id) FROM t")" = "2,3" ] ||
  die "the final snapshot restores $(sql from-final "SELECT GROUP_CONCAT(id ORDER BY id) FROM t")"

log "rewind snapshot create / list / restore / delete"
rewind_cli snapshot create from-final cli-snap | grep -q "available" || die "rewind snapshot create"
rewind_cli snapshot list from-final | grep -q "^cli-snap .*from-final .*available" ||
  die "rewind snapshot list: $(rewind_cli snapshot list from-final)"
rewind_cli snapshot restore cli-snap cli-restored | grep -q "Restored cluster cli-restored ready" ||
  die "rewind snapshot restore"
[ "$(sql cli-restored "SELECT GROUP_CONCAT(id ORDER BY id) FROM t")" = "2,3" ] ||
  die "rewind snapshot restore shows the wrong data"
rewind_cli snapshot delete cli-snap >/dev/null || die "rewind snapshot delete"
if rewind_cli snapshot delete cli-snap 2>"$E2E_DIR/err"; then die "a second delete succeeded"; fi
grep -q DBClusterSnapshotNotFoundFault "$E2E_DIR/err" || die "rewind snapshot delete: $(cat "$E2E_DIR/err")"

log "metrics show the pins"
metrics=$(curl -fsS "http://127.0.0.1:$API_PORT/metrics") || die "no /metrics"
pins=$(awk '$1 == "rewind_store_pins" { print $2 }' <<<"$metrics")
[ "${pins:-0}" = 2 ] || die "rewind_store_pins is '${pins:-}', want 2 (snap1, src-final)"

log "snapshots survive a restart of rewindd"
e2e_stop TERM
e2e_start
[ "$(snap_field snap1 Status)" = available ] || die "snap1 lost across a restart"
[ "$(snap_field src-final Status)" = available ] || die "src-final lost across a restart"

log "a history budget that cannot hold another snapshot: SnapshotQuotaExceeded, nothing pinned"
# 96 MiB that does not compress, so the log holds more than the budget below even once its
# closed segments are compacted.
sql from-final "CREATE TABLE big (id INT AUTO_INCREMENT PRIMARY KEY, pad LONGBLOB)"
for _ in $(seq 1 6); do
  sql from-final "SET SESSION group_concat_max_len = 2097152; INSERT INTO big (pad)
    SELECT (SELECT GROUP_CONCAT(RANDOM_BYTES(1024) SEPARATOR '') FROM seq_1_to_1024) FROM seq_1_to_16"
done
e2e_stop TERM
REWINDD_ARGS="--history-budget 64M" e2e_start  # the least rewindd takes; the log holds more
expect_aws_error SnapshotQuotaExceeded create-db-cluster-snapshot \
  --db-cluster-identifier from-final --db-cluster-snapshot-identifier over-budget
expect_aws_error DBClusterSnapshotNotFoundFault describe-db-cluster-snapshots \
  --db-cluster-snapshot-identifier over-budget
pins=$(curl -fsS "http://127.0.0.1:$API_PORT/metrics" | awk '$1 == "rewind_store_pins" { print $2 }')
[ "${pins:-0}" = 2 ] || die "a refused snapshot changed the pins to '${pins:-}'"
log "a snapshot outlives a 60-second backtrack window the cleaner keeps trimming, and its cluster"
e2e_stop TERM
REWINDD_ARGS="--clean-interval 1000" e2e_start
create_cluster_with_writer win 60
wait_sql win
sql win "CREATE TABLE w (id INT PRIMARY KEY, v VARCHAR(200));
  INSERT INTO w SELECT seq, REPEAT('a', 200) FROM seq_1_to_3000"
SUM_AT_SNAP=$(sql win "CHECKSUM TABLE w" | awk '{ print $2 }')
aws_rds create-db-cluster-snapshot --db-cluster-identifier win \
  --db-cluster-snapshot-identifier win-snap >/dev/null
aws_rds wait db-cluster-snapshot-available --db-cluster-snapshot-identifier win-snap
SNAP_AT=$(date -d "$(snap_field win-snap SnapshotCreateTime)" +%s)
round=0  # every page rewritten again and again until the window has moved past the snapshot
while :; do
  round=$((round + 1))
  sql win "UPDATE w SET v = REPEAT('$((round % 10))', 200)"
  EARLIEST=$(date -d "$(cluster_field win EarliestBacktrackTime)" +%s)
  [ "$EARLIEST" -le $((SNAP_AT + 5)) ] || break
  [ "$round" -lt 150 ] || break
  sleep 1
done
[ "$EARLIEST" -gt "$SNAP_AT" ] ||
  die "the window still reaches the snapshot ($EARLIEST <= $SNAP_AT): the test proves nothing"
aws_rds delete-db-instance --db-instance-identifier win-1 >/dev/null
wait_instance_gone win-1
aws_rds delete-db-cluster --db-cluster-identifier win --skip-final-snapshot >/dev/null
wait_cluster_gone win
restore_snapshot_with_writer win-back win-snap
got=$(sql win-back "CHECKSUM TABLE w" | awk '{ print $2 }')
[ "$got" = "$SUM_AT_SNAP" ] ||
  die "restored from win-snap: checksum $got, the snapshot's was $SUM_AT_SNAP"
log "   EarliestBacktrackTime passed the snapshot by $((EARLIEST - SNAP_AT)) s; restored data intact"
aws_rds delete-db-cluster-snapshot --db-cluster-snapshot-identifier win-snap >/dev/null
aws_rds wait db-cluster-snapshot-deleted --db-cluster-snapshot-identifier win-snap

log "PASS"
