#!/usr/bin/env bash
# After a restart of rewindd (orderly, then a kill -9) every cluster comes back as it was,
# engines started, every acknowledged row there, and backtrack still reaches moments from before.
source "$(dirname "$0")/lib.sh"
MASTER_PASSWORD="Restart-pass-$RANDOM"

wait_status() {  # wait_status CLUSTER STATUS
  for _ in $(seq 1 600); do
    [ "$(cluster_field "$1" Status 2>/dev/null)" = "$2" ] && return 0
    sleep 0.2
  done
  die "$1 never became $2 (is $(cluster_field "$1" Status))"
}

e2e_start
aws_rds create-db-cluster --db-cluster-identifier keep --engine aurora-mysql \
  --master-username masteruser --master-user-password "$MASTER_PASSWORD" \
  --database-name mylab --backtrack-window 3600 >/dev/null
wait_status keep available
aws_rds create-db-instance --db-instance-identifier keep-1 --db-cluster-identifier keep \
  --engine aurora-mysql --db-instance-class db.r5.large >/dev/null
wait_sql keep
sql keep "CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(20)); INSERT INTO t VALUES (1,'one'),(2,'two')"
sleep 1.1
T_TWO=$(date -u +%Y-%m-%dT%H:%M:%SZ)
sleep 1.1
sql keep "INSERT INTO t VALUES (3,'three')"
aws_rds restore-db-cluster-to-point-in-time --source-db-cluster-identifier keep \
  --db-cluster-identifier keep-clone --restore-type copy-on-write --use-latest-restorable-time >/dev/null
wait_status keep-clone available
aws_rds create-db-instance --db-instance-identifier keep-clone-1 --db-cluster-identifier keep-clone \
  --engine aurora-mysql --db-instance-class db.r5.large >/dev/null
wait_sql keep-clone
PORT_BEFORE=$(cluster_field keep Port)

log "orderly restart"
e2e_stop TERM
grep -q " $E2E_DIR/" /proc/mounts && die "mounts left after SIGTERM"
e2e_start
wait_status keep available
wait_sql keep
wait_sql keep-clone
[ "$(cluster_field keep Port)" = "$PORT_BEFORE" ] || die "port changed across restart"
[ "$(sql keep "SELECT COUNT(*) FROM t")" = 3 ] || die "rows lost across an orderly restart"
[ "$(sql keep-clone "SELECT COUNT(*) FROM t")" = 3 ] || die "clone rows lost across restart"

log "backtrack to a moment before the restart"
aws_rds backtrack-db-cluster --db-cluster-identifier keep --backtrack-to "$T_TWO" >/dev/null
sleep 0.5
wait_status keep available
wait_sql keep
[ "$(sql keep "SELECT COUNT(*) FROM t")" = 2 ] || die "backtrack across a restart is wrong"

log "kill -9 rewindd during autocommit inserts; every acknowledged row must survive"
ACKED="$E2E_DIR/acked"
: > "$ACKED"
HOST=$(cluster_field keep Endpoint); PORT=$(cluster_field keep Port)
(
  for i in $(seq 100 100000); do
    mysql -h "$HOST" -P "$PORT" -u masteruser -p"$MASTER_PASSWORD" mylab \
      -e "INSERT INTO t VALUES ($i,'x')" >/dev/null 2>&1 || exit 0
    echo "$i" >> "$ACKED"
  done
) &
WRITER=$!
sleep 3
e2e_stop KILL
wait "$WRITER" || true
N_ACKED=$(wc -l < "$ACKED")
[ "$N_ACKED" -gt 5 ] || die "the writer got too few rows in ($N_ACKED)"
e2e_start
wait_status keep available
wait_sql keep
PRESENT="$E2E_DIR/present"
sql keep "SELECT id FROM t WHERE id >= 100" > "$PRESENT"
MISSING=$(sort "$ACKED" | comm -23 - <(sort "$PRESENT") | wc -l)
[ "$MISSING" = 0 ] || die "$MISSING of $N_ACKED acknowledged rows lost after kill -9"
sql keep "CHECK TABLE t" | grep -q "status	OK" || die "CHECK TABLE not OK"
log "$N_ACKED acknowledged rows, all present; CHECK TABLE OK"
[ "$(sql keep-clone "SELECT COUNT(*) FROM t")" = 3 ] || die "clone changed after the crash"
log "PASS"
