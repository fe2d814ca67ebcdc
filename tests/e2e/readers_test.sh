#!/usr/bin/env bash
# Reader instances (issue 16) through the real aws CLI and mysql against a real rewindd: a
# second create-db-instance makes a reader (a copy-on-write clone of the writer that follows it
# by GTID replication); DBClusterMembers shows IsClusterWriter; each instance has its own
# Endpoint; the reader sees the writer's writes; read_only refuses the master user's writes on
# it (and the master cannot turn it off); a backtrack re-provisions the reader, and both serve
# the data as of T after; deleting the reader leaves the cluster serving, with no process or
# mount of the reader left behind; the replication account dropped by the master user is made
# again when the writer restarts, and the reader follows again.
source "$(dirname "$0")/lib.sh"
MASTER_PASSWORD="Read-pass-$RANDOM$RANDOM"
for tool in /usr/bin/aws /usr/bin/python3 mysql curl /usr/sbin/haproxy; do
  command -v "$tool" >/dev/null || die "missing $tool"
done

inst_field() {  # inst_field INSTANCE FIELD
  aws_rds describe-db-instances --db-instance-identifier "$1" --query "DBInstances[0].$2" \
    --output text
}
# rsql INSTANCE "statements": as the master user at the instance's own endpoint.
rsql() {
  mysql -h "$(inst_field "$1" Endpoint.Address)" -P "$(inst_field "$1" Endpoint.Port)" \
    -u masteruser -p"$MASTER_PASSWORD" -N -B mylab -e "$2"
}
# wait_rows INSTANCE QUERY EXPECTED: until the reader answers EXPECTED (replication, 60 s).
wait_rows() {
  local got=""
  for _ in $(seq 1 300); do
    got=$(rsql "$1" "$2" 2>/dev/null) || got=""
    [ "$got" = "$3" ] && return 0
    sleep 0.2
  done
  die "$1 answers '$got' to $2, expected '$3'"
}

# esql "statements": as the master user at the cluster's ReaderEndpoint and Port (HAProxy).
esql() {
  mysql -h "$(cluster_field rc ReaderEndpoint)" -P "$(cluster_field rc Port)" \
    -u masteruser -p"$MASTER_PASSWORD" -N -B mylab -e "$1"
}
# endpoint_ids N: the server_ids N new connections to the ReaderEndpoint reach, sorted, unique.
endpoint_ids() {
  local host port
  host=$(cluster_field rc ReaderEndpoint); port=$(cluster_field rc Port)
  for _ in $(seq 1 "$1"); do
    mysql -h "$host" -P "$port" -u masteruser -p"$MASTER_PASSWORD" -N -B -e "SELECT @@server_id" 2>/dev/null || true
  done | sort -u | tr '\n' ' '
}
wait_endpoint_ids() {  # wait_endpoint_ids "IDS": until the ReaderEndpoint reaches exactly these
  local got=""
  for _ in $(seq 1 100); do
    got=$(endpoint_ids 6)
    [ "$got" = "$1" ] && return 0
    sleep 0.3
  done
  die "the ReaderEndpoint reaches server_ids '$got', expected '$1'"
}

e2e_start
create_cluster_with_writer rc 3600
[ "$(cluster_field rc ReaderEndpoint)" = 127.0.0.2 ] || die "ReaderEndpoint is $(cluster_field rc ReaderEndpoint)"
log "with no reader, the ReaderEndpoint (HAProxy) reaches the writer"
wait_endpoint_ids "1 "
wait_sql rc
sql rc "CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(20)); INSERT INTO t VALUES (1,'one')"

log "a second create-db-instance makes a reader"
t0=$(date +%s.%N)
aws_rds create-db-instance --db-instance-identifier rc-2 --db-cluster-identifier rc \
  --engine aurora-mysql --db-instance-class db.r5.large >/dev/null
wait_instance rc-2
log "reader available in $(echo "$(date +%s.%N) - $t0" | bc) s"
out=$(aws_rds describe-db-clusters --db-cluster-identifier rc)
/usr/bin/python3 - "$out" <<'PY' || die "cluster members"
import json, sys
c = json.loads(sys.argv[1])["DBClusters"][0]
m = {x["DBInstanceIdentifier"]: x["IsClusterWriter"] for x in c["DBClusterMembers"]}
assert m == {"rc-1": True, "rc-2": False}, m
PY
wport=$(inst_field rc-1 Endpoint.Port); rport=$(inst_field rc-2 Endpoint.Port)
[ "$wport" = "$(cluster_field rc Port)" ] || die "the writer's port is not the cluster's"
[ "$rport" != "$wport" ] || die "the reader has the writer's port"

log "the reader has the clone's data and follows the writer"
wait_rows rc-2 "SELECT v FROM t WHERE id = 1" one
sql rc "INSERT INTO t VALUES (2,'two')"
wait_rows rc-2 "SELECT COUNT(*) FROM t" 2
[ "$(rsql rc-2 'SELECT @@read_only')" = 1 ] || die "the reader is not read-only"
out=$(rsql rc-2 "INSERT INTO t VALUES (9,'nine')" 2>&1) && die "the reader took a write"
grep -q "read-only" <<<"$out" || die "unexpected refusal: $out"
out=$(rsql rc-2 "SET GLOBAL read_only = OFF" 2>&1) && die "the master user turned read_only off"
log "replica lag per reader in /metrics"
m=$(curl -fsS "http://127.0.0.1:$API_PORT/metrics")
grep -q '^rewind_replica_running{cluster="rc",instance="rc-2"} 1$' <<<"$m" ||
  die "no running replica rc-2 in /metrics: $(grep replica <<<"$m")"
grep -qE '^rewind_replica_lag_seconds\{cluster="rc",instance="rc-2"\} [0-9]+$' <<<"$m" ||
  die "no lag of rc-2 in /metrics: $(grep replica <<<"$m")"
log "the ReaderEndpoint reaches the reader, then round-robin over two readers"
wait_endpoint_ids "2 "
[ "$(esql 'SELECT COUNT(*) FROM t')" = 2 ] || die "the ReaderEndpoint does not show the data"
aws_rds create-db-instance --db-instance-identifier rc-3 --db-cluster-identifier rc \
  --engine aurora-mysql --db-instance-class db.r5.large >/dev/null
wait_instance rc-3
wait_rows rc-3 "SELECT COUNT(*) FROM t" 2
wait_endpoint_ids "2 3 "
log "refused on the reader: $(grep ERROR <<<"$out")"
state=$(rsql rc-2 "SHOW SLAVE STATUS\G" 2>/dev/null | grep -c "Running: Yes" || true)
# The master user holds no REPLICA MONITOR: ask as it may, or only count what shows.
log "replica threads running (as visible to the master user): $state"

log "backtrack with two readers: all serve the data as of T"
sleep 2
T=$(date -u +%s)
sleep 2
sql rc "INSERT INTO t VALUES (3,'three')"
wait_rows rc-2 "SELECT COUNT(*) FROM t" 3
aws_rds backtrack-db-cluster --db-cluster-identifier rc \
  --backtrack-to "$(date -u -d "@$T" +%Y-%m-%dT%H:%M:%SZ)" >/dev/null
for _ in $(seq 1 600); do
  [ "$(backtrack_status rc "$T")" = completed ] && break
  sleep 0.2
done
[ "$(backtrack_status rc "$T")" = completed ] || die "backtrack did not complete: $(backtrack_status rc "$T")"
wait_available rc
wait_instance rc-2
wait_sql rc
[ "$(sql rc 'SELECT COUNT(*) FROM t')" = 2 ] || die "the writer is not as of T"
wait_rows rc-2 "SELECT COUNT(*) FROM t" 2
wait_rows rc-3 "SELECT COUNT(*) FROM t" 2
log "after the backtrack both readers follow the rewound writer"
sql rc "INSERT INTO t VALUES (4,'four')"
wait_rows rc-2 "SELECT GROUP_CONCAT(id ORDER BY id) FROM t" "1,2,4"
wait_rows rc-3 "SELECT GROUP_CONCAT(id ORDER BY id) FROM t" "1,2,4"

log "deleting the reader leaves the cluster serving, nothing of the reader left"
rpid=$(cat "$DATA/run/.reader-rc-2/mariadbd/mariadbd.pid")
[ -d "/proc/$rpid" ] || die "no reader mariadbd"
aws_rds delete-db-instance --db-instance-identifier rc-2 >/dev/null
wait_instance_gone rc-2
[ "$(sql rc 'SELECT COUNT(*) FROM t')" = 3 ] || die "the writer lost data"
sql rc "INSERT INTO t VALUES (5,'five')"
for _ in $(seq 1 50); do [ -d "/proc/$rpid" ] || break; sleep 0.1; done
[ -d "/proc/$rpid" ] && die "the reader's mariadbd $rpid still runs"
awk -v m="$DATA/mnt/.reader-rc-2" '$2 == m { f = 1 } END { exit !f }' /proc/mounts &&
  die "the reader's mount is left"
[ ! -e "$DATA/run/.reader-rc-2" ] || die "the reader's run dir is left"
out=$(aws_rds describe-db-clusters --db-cluster-identifier rc --query 'length(DBClusters[0].DBClusterMembers)' --output text)
[ "$out" = 2 ] || die "members after the deletion: $out"
wait_endpoint_ids "3 "

log "stop-db-cluster stops the reader too; start-db-cluster brings it back, following the writer"
wait_rows rc-3 "SELECT COUNT(*) FROM t" 4
rpid=$(cat "$DATA/run/.reader-rc-3/mariadbd/mariadbd.pid")
aws_rds stop-db-cluster --db-cluster-identifier rc >/dev/null
for _ in $(seq 1 600); do [ "$(status_of rc)" = stopped ] && break; sleep 0.2; done
[ "$(status_of rc)" = stopped ] || die "rc is $(status_of rc), not stopped"
[ "$(inst_field rc-3 DBInstanceStatus)" = stopped ] || die "rc-3 is $(inst_field rc-3 DBInstanceStatus)"
for _ in $(seq 1 50); do [ -d "/proc/$rpid" ] || break; sleep 0.1; done
[ -d "/proc/$rpid" ] && die "the stopped cluster's reader mariadbd $rpid still runs"
[ -z "$(e2e_mounts)" ] || die "mounts of a stopped cluster: $(e2e_mounts)"
aws_rds start-db-cluster --db-cluster-identifier rc >/dev/null
wait_available rc
wait_instance rc-3
wait_sql rc
sql rc "INSERT INTO t VALUES (6,'six')"
wait_rows rc-3 "SELECT COUNT(*) FROM t" 5
wait_endpoint_ids "3 "

log "the master user drops the replication account: the writer's restart makes it again"
sql rc "DROP USER 'rewind_repl'@'%'"
aws_rds reboot-db-instance --db-instance-identifier rc-1 >/dev/null
wait_instance rc-1
wait_sql rc
sql rc "INSERT INTO t VALUES (7,'seven')"
wait_rows rc-3 "SELECT COUNT(*) FROM t" 6

log "the last reader deleted: the ReaderEndpoint reaches the writer again; then the cluster goes"
aws_rds delete-db-instance --db-instance-identifier rc-3 >/dev/null
wait_instance_gone rc-3
wait_endpoint_ids "1 "
aws_rds delete-db-instance --db-instance-identifier rc-1 >/dev/null
wait_instance_gone rc-1
aws_rds delete-db-cluster --db-cluster-identifier rc --skip-final-snapshot >/dev/null
wait_cluster_gone rc
[ -z "$(e2e_mounts)" ] || die "mounts left: $(e2e_mounts)"
left=$(e2e_processes | grep -v "^$REWINDD" | grep -E "mariadbd|haproxy" || true)
[ -z "$left" ] || die "processes left: $left"
log "PASS"
