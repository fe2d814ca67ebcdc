#!/usr/bin/env bash
# Reader instances (issue 16) through the real aws CLI and mysql against a real rewindd: a
# second create-db-instance makes a reader (a copy-on-write clone of the writer that follows it
# by GTID replication); DBClusterMembers shows IsClusterWriter; each instance has its own
# Endpoint; the reader sees the writer's writes; read_only refuses the master user's writes on
# it (and the master cannot turn it off); a backtrack re-provisions the reader, and both serve
# the data as of T after; deleting the reader leaves the cluster serving, with no process or
# mount of the reader left behind.
source "$(dirname "$0")/lib.sh"
MASTER_PASSWORD="Read-pass-$RANDOM$RANDOM"
for tool in /usr/bin/aws /usr/bin/python3 mysql; do
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

e2e_start
create_cluster_with_writer rc 3600
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
log "refused on the reader: $(grep ERROR <<<"$out")"
state=$(rsql rc-2 "SHOW SLAVE STATUS\G" 2>/dev/null | grep -c "Running: Yes" || true)
# The master user holds no REPLICA MONITOR: ask as it may, or only count what shows.
log "replica threads running (as visible to the master user): $state"

log "backtrack with a reader: both serve the data as of T"
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
log "after the backtrack the reader follows the rewound writer"
sql rc "INSERT INTO t VALUES (4,'four')"
wait_rows rc-2 "SELECT GROUP_CONCAT(id ORDER BY id) FROM t" "1,2,4"

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
[ "$out" = 1 ] || die "members after the deletion: $out"

log "a reader made again, then the cluster deleted with it: nothing left"
aws_rds create-db-instance --db-instance-identifier rc-3 --db-cluster-identifier rc \
  --engine aurora-mysql --db-instance-class db.r5.large >/dev/null
wait_instance rc-3
wait_rows rc-3 "SELECT COUNT(*) FROM t" 4
expect_aws_error InvalidDBClusterStateFault delete-db-instance --db-instance-identifier rc-1
aws_rds delete-db-instance --db-instance-identifier rc-3 >/dev/null
wait_instance_gone rc-3
aws_rds delete-db-instance --db-instance-identifier rc-1 >/dev/null
wait_instance_gone rc-1
aws_rds delete-db-cluster --db-cluster-identifier rc --skip-final-snapshot >/dev/null
wait_cluster_gone rc
[ -z "$(e2e_mounts)" ] || die "mounts left: $(e2e_mounts)"
left=$(e2e_processes | grep -v "^$REWINDD" | grep mariadbd || true)
[ -z "$left" ] || die "processes left: $left"
log "PASS"
