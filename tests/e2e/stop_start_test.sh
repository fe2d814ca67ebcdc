#!/usr/bin/env bash
# StopDBCluster / StartDBCluster (issue 16) through the real aws CLI v2 and mysql against a real
# rewindd: a cluster with rows is stopped (stopping -> stopped, its instance too; no mariadbd of it
# runs, its mount is gone, mysql cannot reach it); what Aurora refuses on a stopped cluster is
# refused with Aurora's fault and a message saying to start it; a point-in-time clone of it works;
# describe-events shows Aurora's stop/start events; rewindd restarted while it is stopped brings it
# back stopped (nothing started, nothing mounted); start-db-cluster (starting -> available, the
# `aws rds wait db-cluster-available` waiter) brings its rows back and SQL works; `rewind stop` /
# `rewind start`; a stopped cluster without instance is deleted.
source "$(dirname "$0")/lib.sh"
MASTER_PASSWORD="Stop-pass-$RANDOM$RANDOM"
for tool in /usr/bin/aws mysql; do command -v "$tool" >/dev/null || die "missing $tool"; done
REWIND="$BUILD_DIR/src/cli/rewind"
[ -x "$REWIND" ] || die "missing $REWIND"
rewind_cli() { "$REWIND" --endpoint "http://127.0.0.1:$API_PORT" --credentials "$DATA/credentials" "$@"; }

instance_status() {
  aws_rds describe-db-instances --db-instance-identifier "$1" \
    --query 'DBInstances[0].DBInstanceStatus' --output text
}
mounted() { awk -v m="$DATA/mnt/$1" '$2 == m { found = 1 } END { exit !found }' /proc/mounts; }
# wait_stopped CLUSTER: polls (Aurora's CLI has no waiter for stopped) until it is stopped;
# records every status seen in SEEN.
wait_stopped() {
  local st
  SEEN=""
  for _ in $(seq 1 600); do
    st=$(status_of "$1")
    [[ " $SEEN " == *" $st "* ]] || SEEN="$SEEN $st"
    [ "$st" = stopped ] && return 0
    sleep 0.2
  done
  die "$1 is not stopped after 120 s (seen:$SEEN)"
}
# assert_stopped CLUSTER INSTANCE [OLD_PID]: stopped as Aurora shows it, and nothing of it runs.
assert_stopped() {
  [ "$(status_of "$1")" = stopped ] || die "$1 is $(status_of "$1"), not stopped"
  [ "$(instance_status "$2")" = stopped ] || die "$2 is $(instance_status "$2"), not stopped"
  [ -z "$(mariadbd_of "$1")" ] || die "$1 is stopped but its mariadbd $(mariadbd_of "$1") runs"
  [ -z "${3:-}" ] || [ ! -d "/proc/$3" ] || die "$1 is stopped but its old mariadbd $3 runs"
  ! mounted "$1" || die "$1 is stopped but $DATA/mnt/$1 is still mounted"
  if sql "$1" "SELECT 1" >/dev/null 2>&1; then die "$1 is stopped but answers SQL"; fi
}
event_said() {  # event_said SOURCE MESSAGE SOURCE_TYPE
  aws_rds describe-events --source-identifier "$1" --source-type "$3" --duration 60 \
    --query 'Events[].Message' --output text | grep -qF "$2" ||
    die "no event '$2' for $1 in describe-events"
}

e2e_start
create_cluster_with_writer ss 3600
wait_sql ss
sql ss "CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(20)); INSERT INTO t VALUES (1,'one'),(2,'two'),(3,'three')"
PID=$(mariadbd_of ss)
[ -n "$PID" ] || die "no mariadbd of ss runs"

log "start-db-cluster on an available cluster is refused"
expect_aws_error InvalidDBClusterStateFault start-db-cluster --db-cluster-identifier ss
expect_aws_error DBClusterNotFoundFault stop-db-cluster --db-cluster-identifier nope

log "stop-db-cluster: stopping -> stopped"
out=$(aws_rds stop-db-cluster --db-cluster-identifier ss)
/usr/bin/python3 - "$out" <<'PY' || die "stop-db-cluster's answer"
import json, sys
c = json.loads(sys.argv[1])["DBCluster"]
assert c["DBClusterIdentifier"] == "ss" and c["Status"] == "stopping", c
assert c["Engine"] == "aurora-mysql" and c["Endpoint"] and c["Port"] > 0, c
assert c["DBClusterMembers"][0]["DBInstanceIdentifier"] == "ss-1", c
PY
wait_stopped ss
log "statuses seen while stopping:$SEEN"
assert_stopped ss ss-1 "$PID"
event_said ss "DB cluster stopped" db-cluster
event_said ss-1 "DB instance stopped" db-instance

log "what Aurora refuses on a stopped cluster is refused, saying to start it"
expect_aws_error InvalidDBClusterStateFault stop-db-cluster --db-cluster-identifier ss
expect_aws_error InvalidDBClusterStateFault modify-db-cluster --db-cluster-identifier ss \
  --backtrack-window 7200 --apply-immediately
expect_aws_error InvalidDBClusterStateFault backtrack-db-cluster --db-cluster-identifier ss \
  --backtrack-to "$(date -u -d '-5 seconds' +%Y-%m-%dT%H:%M:%SZ)"
expect_aws_error InvalidDBClusterStateFault create-db-instance --db-instance-identifier ss-2 \
  --db-cluster-identifier ss --engine aurora-mysql --db-instance-class db.r5.large
expect_aws_error InvalidDBClusterStateFault delete-db-instance --db-instance-identifier ss-1 \
  --skip-final-snapshot
expect_aws_error InvalidDBInstanceState reboot-db-instance --db-instance-identifier ss-1
expect_aws_error InvalidDBClusterStateFault create-db-cluster-snapshot \
  --db-cluster-identifier ss --db-cluster-snapshot-identifier ss-snap
expect_aws_error InvalidDBClusterStateFault delete-db-cluster --db-cluster-identifier ss \
  --skip-final-snapshot
msg=$(aws_rds modify-db-cluster --db-cluster-identifier ss --deletion-protection 2>&1 || true)
grep -q "start it first (StartDBCluster)" <<<"$msg" || die "the refusal does not say to start it: $msg"
msg=$(rewind_cli query ss --at now -e "SELECT 1" 2>&1 || true)
grep -q "InvalidDBClusterStateFault" <<<"$msg" || die "query-as-of on a stopped cluster: $msg"
[ "$(cluster_field ss DeletionProtection)" = False ] || die "a refused modify changed ss"
assert_stopped ss ss-1

log "a stopped cluster is restored to a point in time (copy-on-write), as in Aurora"
aws_rds restore-db-cluster-to-point-in-time --source-db-cluster-identifier ss \
  --db-cluster-identifier ssc --restore-type copy-on-write --use-latest-restorable-time >/dev/null
wait_available ssc
aws_rds create-db-instance --db-instance-identifier ssc-1 --db-cluster-identifier ssc \
  --engine aurora-mysql --db-instance-class db.r5.large >/dev/null
wait_instance ssc-1
wait_sql ssc
[ "$(sql ssc "SELECT COUNT(*) FROM t")" = 3 ] || die "the clone of stopped ss lacks its rows"
aws_rds delete-db-instance --db-instance-identifier ssc-1 --skip-final-snapshot >/dev/null
wait_instance_gone ssc-1
aws_rds delete-db-cluster --db-cluster-identifier ssc --skip-final-snapshot >/dev/null
wait_cluster_gone ssc
assert_stopped ss ss-1

log "rewindd restarted while ss is stopped: it comes back stopped"
e2e_stop TERM
e2e_start
assert_stopped ss ss-1
e2e_stop KILL
e2e_start
assert_stopped ss ss-1

log "start-db-cluster: starting -> available; rows intact, SQL works"
[ "$(aws_rds start-db-cluster --db-cluster-identifier ss --query DBCluster.Status --output text)" = starting ] ||
  die "start-db-cluster did not answer starting"
aws_rds wait db-cluster-available --db-cluster-identifier ss
wait_instance ss-1
wait_sql ss
[ "$(sql ss "SELECT GROUP_CONCAT(v ORDER BY id) FROM t")" = "one,two,three" ] || die "ss lost rows"
sql ss "INSERT INTO t VALUES (4,'four')"
[ "$(sql ss "SELECT COUNT(*) FROM t")" = 4 ] || die "ss does not take writes after its start"
mounted ss || die "ss is available but not mounted"
event_said ss "DB cluster started" db-cluster
event_said ss-1 "DB instance started" db-instance

log "rewind stop / rewind start"
rewind_cli stop ss | tee "$E2E_DIR/cli.out"
grep -q "ss is stopped" "$E2E_DIR/cli.out" || die "rewind stop did not wait until stopped"
assert_stopped ss ss-1
rewind_cli start ss | tee "$E2E_DIR/cli.out"
grep -q "ss is available" "$E2E_DIR/cli.out" || die "rewind start did not wait until available"
wait_sql ss
[ "$(sql ss "SELECT COUNT(*) FROM t")" = 4 ] || die "ss lost rows across rewind stop/start"

log "a stopped cluster without instance is deleted"
aws_rds create-db-cluster --db-cluster-identifier sx --engine aurora-mysql \
  --master-username masteruser --master-user-password "$MASTER_PASSWORD" >/dev/null
wait_available sx
aws_rds stop-db-cluster --db-cluster-identifier sx >/dev/null
wait_stopped sx
! mounted sx || die "sx is stopped but mounted"
aws_rds delete-db-cluster --db-cluster-identifier sx --skip-final-snapshot >/dev/null
wait_cluster_gone sx
assert_cluster_gone sx
log "PASS"
