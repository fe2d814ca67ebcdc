#!/usr/bin/env bash
# FailoverDBCluster (issue 16) through the real aws CLI and mysql against a real rewindd: rows
# written, failover-db-cluster to a named reader; the cluster goes failing-over then available
# (`aws rds wait db-cluster-available`); DBClusterMembers and DescribeDBInstances show the new
# writer; the cluster endpoint reaches it and takes writes; the old writer, now a reader, serves
# them by replication and is read_only; a reader's own DB parameter group is applied to it (and
# to the writer it becomes), never its read_only; Aurora's faults for an unknown cluster or target and a
# cluster without reader; `rewind failover` (to the best reader) and back; a backtrack after a
# failover rewinds the cluster and re-provisions its reader; deleting the writer of a cluster
# with a reader fails over first and leaves a serving cluster; nothing left behind.
source "$(dirname "$0")/lib.sh"
MASTER_PASSWORD="Fail-pass-$RANDOM$RANDOM"
REWIND="$BUILD_DIR/src/cli/rewind"
for tool in /usr/bin/aws /usr/bin/python3 mysql /usr/sbin/haproxy "$REWIND"; do
  command -v "$tool" >/dev/null || die "missing $tool"
done
rw() { "$REWIND" --endpoint "http://127.0.0.1:$API_PORT" --credentials "$DATA/credentials" "$@"; }

# Each aws call costs a second of CPU: the endpoints are read once per change of roles.
declare -A PORT
read_ports() {  # PORT[instance] from one describe-db-instances; CPORT, CHOST the cluster's
  local id port
  PORT=()
  while read -r id port; do PORT[$id]=$port; done < <(aws_rds describe-db-instances \
    --query 'DBInstances[].[DBInstanceIdentifier,Endpoint.Port]' --output text)
  CPORT=$(cluster_field fc Port); CHOST=$(cluster_field fc Endpoint)
}
# isql INSTANCE "statements": as the master user at the instance's own endpoint.
isql() {
  mysql -h "$CHOST" -P "${PORT[$1]}" -u masteruser -p"$MASTER_PASSWORD" -N -B mylab -e "$2"
}
# csql "statements": at the cluster endpoint (Endpoint and Port of describe-db-clusters).
csql() { mysql -h "$CHOST" -P "$CPORT" -u masteruser -p"$MASTER_PASSWORD" -N -B mylab -e "$1"; }
wait_csql() {
  for _ in $(seq 1 600); do csql "SELECT 1" >/dev/null 2>&1 && return 0; sleep 0.2; done
  die "the cluster endpoint does not answer SQL: $(csql "SELECT 1" 2>&1)"
}
# wait_rows INSTANCE QUERY EXPECTED: until the instance answers EXPECTED (replication, 60 s).
wait_rows() {
  local got=""
  for _ in $(seq 1 300); do
    got=$(isql "$1" "$2" 2>/dev/null) || got=""
    [ "$got" = "$3" ] && return 0
    sleep 0.2
  done
  die "$1 answers '$got' to $2, expected '$3'"
}
# writer_of CLUSTER: the member DBClusterMembers marks IsClusterWriter.
writer_of() {
  # shellcheck disable=SC2016 # a JMESPath literal, not a shell expansion
  aws_rds describe-db-clusters --db-cluster-identifier "$1" \
    --query 'DBClusters[0].DBClusterMembers[?IsClusterWriter==`true`].DBInstanceIdentifier' \
    --output text
}
# is_reader INSTANCE: read_only, refuses the master user's writes.
is_reader() {
  [ "$(isql "$1" 'SELECT @@read_only')" = 1 ] || die "$1 is not read-only"
  local out
  out=$(isql "$1" "INSERT INTO t VALUES (99, 'no')" 2>&1) && die "the reader $1 took a write"
  grep -q "read-only" <<<"$out" || die "unexpected refusal on $1: $out"
}
iso() { date -u -d "@$1" +%Y-%m-%dT%H:%M:%SZ; }

e2e_start
create_cluster_with_writer fc 3600
read_ports
wait_csql
csql "CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(20)); INSERT INTO t VALUES (1,'one'),(2,'two')"

log "faults before there is a reader"
expect_aws_error DBClusterNotFoundFault failover-db-cluster --db-cluster-identifier nope
out=$(aws_rds failover-db-cluster --db-cluster-identifier fc 2>&1) && die "failover without a reader: $out"
grep -q "(InvalidDBClusterStateFault)" <<<"$out" || die "no reader: $out"
grep -q "no reader" <<<"$out" || die "the fault does not say there is no reader: $out"

log "a reader with a DB parameter group of its own: it runs the group's values, read_only"
aws_rds create-db-parameter-group --db-parameter-group-name fpg \
  --db-parameter-group-family aurora-mysql8.0 --description "the reader's" >/dev/null
aws_rds modify-db-parameter-group --db-parameter-group-name fpg \
  --parameters "ParameterName=max_connections,ParameterValue=77,ApplyMethod=immediate" >/dev/null
aws_rds create-db-instance --db-instance-identifier fc-2 --db-cluster-identifier fc \
  --engine aurora-mysql --db-instance-class db.r5.large --db-parameter-group-name fpg >/dev/null
wait_instance fc-2
read_ports
wait_rows fc-2 "SELECT COUNT(*) FROM t" 2
[ "$(isql fc-2 'SELECT @@max_connections')" = 77 ] || die "the reader does not run its group"
is_reader fc-2
[ "$(csql 'SELECT @@max_connections')" != 77 ] || die "the reader's group reached the writer"
expect_aws_error DBInstanceNotFound failover-db-cluster --db-cluster-identifier fc \
  --target-db-instance-identifier nope
expect_aws_error InvalidDBInstanceState failover-db-cluster --db-cluster-identifier fc \
  --target-db-instance-identifier fc-1
cport=$CPORT rport=${PORT[fc-2]}
earliest=$(cluster_field fc EarliestBacktrackTime)

sleep 1.1; T=$(date +%s); sleep 1.1
csql "INSERT INTO t VALUES (3,'three')"

log "failover-db-cluster to fc-2"
t0=$(date +%s.%N)
st=$(aws_rds failover-db-cluster --db-cluster-identifier fc --target-db-instance-identifier fc-2 \
       --query 'DBCluster.Status' --output text)
[ "$st" = failing-over ] || die "failover answered status $st, not failing-over"
wait_available fc
log "available again in $(echo "$(date +%s.%N) - $t0" | bc) s"
[ "$(writer_of fc)" = fc-2 ] || die "the writer is $(writer_of fc), not fc-2"
read_ports
[ "${PORT[fc-2]}" = "$cport" ] || die "fc-2 does not serve the cluster port"
[ "${PORT[fc-1]}" = "$rport" ] || die "fc-1 did not take the reader's port"
[ "$(cluster_field fc EarliestBacktrackTime)" = "$earliest" ] ||
  die "the failover moved EarliestBacktrackTime from $earliest to $(cluster_field fc EarliestBacktrackTime)"
wait_instance fc-1
wait_csql
log "the cluster endpoint reaches the new writer and takes writes"
[ "$(csql 'SELECT @@read_only')" = 0 ] || die "the cluster endpoint is read-only"
[ "$(csql 'SELECT COUNT(*) FROM t')" = 3 ] || die "the new writer lost rows"
[ "$(csql 'SELECT @@max_connections')" = 77 ] || die "the new writer does not run its own group"
csql "INSERT INTO t VALUES (4,'four')"
log "the old writer is a reader: it serves the new writer's rows by replication, read_only"
wait_rows fc-1 "SELECT GROUP_CONCAT(id ORDER BY id) FROM t" "1,2,3,4"
is_reader fc-1
msgs=$(aws_rds describe-events --source-type db-cluster --source-identifier fc \
         --query 'Events[].Message' --output text)
grep -q "Started same AZ failover to DB instance: fc-2" <<<"$msgs" || die "no start event: $msgs"
grep -q "Completed failover to DB instance: fc-2" <<<"$msgs" || die "no completion event: $msgs"

log "rewind failover (to the best reader) and back"
rw failover fc | tee "$E2E_DIR/failover.out"
grep -q "its writer is fc-1" "$E2E_DIR/failover.out" || die "rewind failover: $(cat "$E2E_DIR/failover.out")"
wait_instance fc-2
read_ports
wait_csql
csql "INSERT INTO t VALUES (5,'five')"
wait_rows fc-2 "SELECT COUNT(*) FROM t" 5
is_reader fc-2
rw failover fc --target fc-2 >/dev/null
[ "$(writer_of fc)" = fc-2 ] || die "the writer is $(writer_of fc), not fc-2"
wait_instance fc-1
read_ports
wait_csql

log "a backtrack after the failovers rewinds the cluster and re-provisions its reader"
aws_rds backtrack-db-cluster --db-cluster-identifier fc --backtrack-to "$(iso "$T")" >/dev/null
for _ in $(seq 1 600); do [ "$(backtrack_status fc "$T")" = completed ] && break; sleep 0.2; done
[ "$(backtrack_status fc "$T")" = completed ] || die "backtrack: $(backtrack_status fc "$T")"
wait_available fc
wait_csql
[ "$(csql 'SELECT GROUP_CONCAT(id ORDER BY id) FROM t')" = "1,2" ] || die "the writer is not as of T"
wait_instance fc-1
wait_rows fc-1 "SELECT GROUP_CONCAT(id ORDER BY id) FROM t" "1,2"
csql "INSERT INTO t VALUES (6,'six')"
wait_rows fc-1 "SELECT GROUP_CONCAT(id ORDER BY id) FROM t" "1,2,6"

log "deleting the writer of a cluster with a reader fails over, the cluster keeps serving"
wpid=$(mariadbd_of fc)
aws_rds delete-db-instance --db-instance-identifier fc-2 >/dev/null
wait_instance_gone fc-2
wait_available fc
[ "$(writer_of fc)" = fc-1 ] || die "the writer is $(writer_of fc), not fc-1"
wait_csql
[ "$(csql 'SELECT GROUP_CONCAT(id ORDER BY id) FROM t')" = "1,2,6" ] || die "rows lost"
csql "INSERT INTO t VALUES (7,'seven')"
[ "$(csql 'SELECT COUNT(*) FROM t')" = 4 ] || die "the writer does not take writes"
[ -n "$wpid" ] && [ "$(mariadbd_of fc)" = "$wpid" ] && die "the cluster's mariadbd was not restarted"
[ ! -e "$DATA/run/.reader-fc-1" ] || die "fc-1's reader run dir is left"
[ ! -e "$DATA/run/.reader-fc-2" ] || die "fc-2's reader run dir is left"

aws_rds delete-db-instance --db-instance-identifier fc-1 >/dev/null
wait_instance_gone fc-1
aws_rds delete-db-cluster --db-cluster-identifier fc --skip-final-snapshot >/dev/null
wait_cluster_gone fc
aws_rds delete-db-parameter-group --db-parameter-group-name fpg
[ -z "$(e2e_mounts)" ] || die "mounts left: $(e2e_mounts)"
left=$(e2e_processes | grep -v "^$REWINDD" | grep -E "mariadbd|haproxy" || true)
[ -z "$left" ] || die "processes left: $left"
log "PASS"
