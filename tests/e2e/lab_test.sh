#!/usr/bin/env bash
# The lab (../shared/seed/backtracking-a-cluster.md) end to end with the real tools: aws (Debian's
# awscli v2), mysql and sysbench against a real rewindd. ROWS rows (100 k in CI).
source "$(dirname "$0")/lib.sh"
ROWS=${ROWS:-100000}
MASTER_PASSWORD="Lab-pass-$RANDOM$RANDOM"

e2e_start

log "1. create cluster mylab + writer"
aws_rds create-db-cluster --db-cluster-identifier mylab --engine aurora-mysql \
  --master-username masteruser --master-user-password "$MASTER_PASSWORD" \
  --database-name mylab --backtrack-window 86400 >/dev/null
wait_available mylab
aws_rds create-db-instance --db-instance-identifier mylab-instance-1 \
  --db-cluster-identifier mylab --engine aurora-mysql --db-instance-class db.r5.large >/dev/null
wait_instance mylab-instance-1
sysbench_prepare mylab
C0=$(checksum mylab)
[ -n "$C0" ] || die "no checksum on mylab"
log "   C0=$C0"

log "2. clone mylab-clone (copy-on-write, latest restorable time)"
aws_rds restore-db-cluster-to-point-in-time --source-db-cluster-identifier mylab \
  --db-cluster-identifier mylab-clone --restore-type copy-on-write \
  --use-latest-restorable-time --backtrack-window 86400 >/dev/null
wait_available mylab-clone
aws_rds create-db-instance --db-instance-identifier mylab-clone-instance-1 \
  --db-cluster-identifier mylab-clone --engine aurora-mysql --db-instance-class db.r5.large >/dev/null
wait_instance mylab-clone-instance-1
[ "$(checksum mylab-clone)" = "$C0" ] || die "clone checksum differs from C0"
[ "$(cluster_field mylab-clone CloneGroupId)" = "$(cluster_field mylab CloneGroupId)" ] ||
  die "clone is not in its source's clone group"

log "3. on the clone: T1, DROP TABLE sbtest1, T2"
sleep 1.1
T1=$(sql mylab-clone "SELECT current_timestamp()")
sleep 1.1
sql mylab-clone "DROP TABLE sbtest1"
sleep 1.1
T2=$(sql mylab-clone "SELECT current_timestamp()")
sleep 1.1
log "   T1=$T1 T2=$T2"

log "4. sysbench prepare sbtest1 again on the clone"
sysbench_prepare mylab-clone
C1=$(checksum mylab-clone)
[ "$C1" != "$C0" ] || die "C1 equals C0"
log "   C1=$C1"

sleep 1.1
T_C1=$(date -u +%Y-%m-%dT%H:%M:%SZ)  # a moment when the clone held the re-prepared table (C1)
sleep 1.1

log "5. backtrack the clone to just after T2"
AFTER_T2=$(date -u -d "$T2 UTC + 1 second" +%Y-%m-%dT%H:%M:%SZ)
aws_rds backtrack-db-cluster --db-cluster-identifier mylab-clone --backtrack-to "$AFTER_T2" >/dev/null
# The lab's own progress command runs (today's CLIs print members in the model's order, so it
# shows ActivityStreamStatus, as with Aurora); the status itself, as a user would watch it:
aws_rds describe-db-clusters --db-cluster-identifier mylab-clone | grep -i EngineMode -A 2 | grep Status || true
log "   status right after the call: $(status_of mylab-clone)"
wait_available mylab-clone
if sql mylab-clone "SHOW TABLES" | grep -qx sbtest1; then die "sbtest1 still there after T2"; fi

log "6. backtrack the clone to just before T1"
BEFORE_T1=$(date -u -d "$T1 UTC" +%Y-%m-%dT%H:%M:%SZ)
aws_rds backtrack-db-cluster --db-cluster-identifier mylab-clone --backtrack-to "$BEFORE_T1" >/dev/null
wait_available mylab-clone
sql mylab-clone "SHOW TABLES" | grep -qx sbtest1 || die "sbtest1 missing after backtrack to T1"
[ "$(checksum mylab-clone)" = "$C0" ] || die "checksum after backtrack to T1 is not C0"
[ "$(checksum mylab)" = "$C0" ] || die "mylab changed"

log "7. describe-db-cluster-backtracks lists both, completed"
N=$(aws_rds describe-db-cluster-backtracks --db-cluster-identifier mylab-clone \
  --query 'length(DBClusterBacktracks[?Status==`completed`])' --output text)
[ "$N" = 2 ] || die "expected 2 completed backtracks, got $N"

log "and forth: the friendly CLI takes the clone forward again, to the moment it held C1"
REWIND=("$BUILD_DIR/src/cli/rewind" --endpoint "http://127.0.0.1:$API_PORT")
"${REWIND[@]}" backtrack mylab-clone --to "$T_C1"
[ "$(checksum mylab-clone)" = "$C1" ] || die "forward backtrack did not bring C1 back"
"${REWIND[@]}" status | grep -q "^mylab-clone .*available" || die "rewind status lacks the clone"
"${REWIND[@]}" history mylab-clone | grep -cE '^ +[0-9a-f-]{36} +completed' | grep -qx 3 ||
  die "rewind history does not list 3 completed backtracks"
OUT=$("${REWIND[@]}" backtrack nosuch --to now 2>&1) && die "rewind backtrack of nosuch succeeded"
echo "$OUT" | grep -q DBClusterNotFoundFault ||
  die "rewind backtrack of an unknown cluster does not say DBClusterNotFoundFault: $OUT"
OUT=$("${REWIND[@]}" backtrack mylab-clone --to "yesterday-ish" 2>&1) && die "a bad time was accepted"
log "   bad time refused: $OUT"

log "refusals through the real CLI"
NOW=$(date -u +%Y-%m-%dT%H:%M:%SZ)
FUTURE=$(date -u -d "+1 hour" +%Y-%m-%dT%H:%M:%SZ)
expect_aws_error InvalidDBClusterStateFault backtrack-db-cluster --db-cluster-identifier mylab-clone \
  --backtrack-to "$FUTURE"
BEFORE_CLONE=$(date -u -d "$(cluster_field mylab-clone ClusterCreateTime) - 60 seconds" +%Y-%m-%dT%H:%M:%SZ)
expect_aws_error InvalidDBClusterStateFault backtrack-db-cluster --db-cluster-identifier mylab-clone \
  --backtrack-to "$BEFORE_CLONE"
# A second backtrack while one runs: two calls back to back from boto3 (a backtrack takes about
# a second here, less than the CLI needs to start).
API_PORT=$API_PORT /usr/bin/python3 - <<'PY' || die "concurrent backtrack was not refused"
import datetime, os, boto3, botocore
rds = boto3.Session(profile_name="rewind").client(
    "rds", region_name="us-east-1", endpoint_url="http://127.0.0.1:" + os.environ["API_PORT"])
now = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(seconds=1)
rds.backtrack_db_cluster(DBClusterIdentifier="mylab-clone", BacktrackTo=now)
try:
    rds.backtrack_db_cluster(DBClusterIdentifier="mylab-clone", BacktrackTo=now)
except botocore.exceptions.ClientError as e:
    assert e.response["Error"]["Code"] == "InvalidDBClusterStateFault", e.response
    print("refused as expected:", e.response["Error"]["Code"], "-", e.response["Error"]["Message"])
else:
    raise SystemExit("second backtrack accepted")
PY
wait_available mylab-clone
expect_aws_error DBClusterNotFoundFault backtrack-db-cluster --db-cluster-identifier nosuch \
  --backtrack-to "$NOW"
expect_aws_error DBClusterAlreadyExistsFault restore-db-cluster-to-point-in-time \
  --source-db-cluster-identifier mylab --db-cluster-identifier mylab-clone \
  --restore-type copy-on-write --use-latest-restorable-time
expect_aws_error DBClusterBacktrackNotFoundFault describe-db-cluster-backtracks \
  --db-cluster-identifier mylab-clone --backtrack-identifier 00000000-0000-4000-8000-000000000000
# UseEarliestTimeOnPointInTimeUnavailable: a time before the window goes to its start.
aws_rds backtrack-db-cluster --db-cluster-identifier mylab-clone --backtrack-to "$BEFORE_CLONE" \
  --use-earliest-time-on-point-in-time-unavailable >/dev/null
wait_available mylab-clone
sql mylab-clone "SHOW TABLES" | grep -qx sbtest1 || die "sbtest1 missing at the clone's start"

log "deleting the source: it is gone (API, mount, mariadbd), and the clone keeps working"
SRC_PID=$(mariadbd_of mylab)
[ -n "$SRC_PID" ] || die "mylab's mariadbd is not running before its deletion"
grep -q " $DATA/mnt/mylab " /proc/mounts || die "mylab is not mounted before its deletion"
aws_rds delete-db-instance --db-instance-identifier mylab-instance-1 >/dev/null
wait_instance_gone mylab-instance-1
aws_rds delete-db-cluster --db-cluster-identifier mylab --skip-final-snapshot >/dev/null
wait_cluster_gone mylab
assert_cluster_gone mylab "$SRC_PID"
log "   mylab: DBClusterNotFoundFault, $DATA/mnt/mylab unmounted, mariadbd $SRC_PID gone"
[ "$(checksum mylab-clone)" = "$C0" ] || die "clone broke when its source was deleted"

log "PASS"
