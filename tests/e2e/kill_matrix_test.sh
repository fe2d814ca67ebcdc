#!/usr/bin/env bash
# The failpoint kill matrix: rewindd is killed at every step of every cluster operation, and
# after a restart the operation is whole or absent, never half.
#
# Every failpoint named cluster.<operation>.<step> in the source tree (string literals at
# Failpoint(...) call sites, found with grep) is taken in turn: rewindd is started with
# REWIND_FAILPOINTS=<name>, the operation is asked for through the real `aws rds` CLI, rewindd
# must die by that failpoint (SIGKILL, and its stderr says so), it is started again unarmed, and
# then, through `aws` and `mysql`: every cluster and instance settles to available or is gone;
# the operation took effect whole or not at all (the data says which, and the API agrees); the
# shared cluster serves every row it acknowledged; and no mount or process is left behind (the
# mounts and the process tree equal those before the iteration).
#
# A failpoint whose <operation> has no driver in the table below fails the test: a new step
# cannot go uncovered. One data dir and one cluster (km, with writer km-1, and ki, a cluster
# without instance) serve every iteration.
#
#   kill_matrix_test.sh            every failpoint
#   KILL_MATRIX_ONLY=REGEX …       only the failpoints matching REGEX (still fails on unknowns)
source "$(dirname "$0")/lib.sh"
SRC_DIR=$(cd "$(dirname "$0")/../../src" && pwd)
PW_A="Km-pass-A$RANDOM$RANDOM"
PW_B="Km-pass-B$RANDOM$RANDOM"
MASTER_PASSWORD=$PW_A  # km's (and the clusters made by an iteration): modify changes it
KI_PW=$PW_A  # ki's, which nothing changes
N=0  # iteration number: a fresh name for what each iteration creates

# ---------------------------------------------------------------------------------------------
# The operation → command table. For operation OP: prep_OP (rewindd unarmed: what the operation
# needs), act_OP (rewindd armed: the `aws rds` call, which may lose its answer), check_OP
# (rewindd restarted unarmed, everything settled: whole or absent; leaves km and ki as before).
declare -A OPS=(
  [create]="create-db-cluster kc<N> (no instance)"
  [delete]="delete-db-cluster kd<N> --skip-final-snapshot (made unarmed, no instance)"
  [backtrack]="backtrack-db-cluster km --backtrack-to <T> (one row written after T)"
  [clone]="restore-db-cluster-to-point-in-time km → kk<N> --restore-type copy-on-write --restore-to-time <T>"
  [reboot]="reboot-db-instance km-1"
  [modify]="modify-db-cluster km --backtrack-window --[no-]deletion-protection --master-user-password --apply-immediately"
  [create_instance]="create-db-instance ki-1 --db-cluster-identifier ki"
  [delete_instance]="delete-db-instance ki-1 (made unarmed)"
  [snapshot]="create-db-cluster-snapshot km → ks<N>"
  [delete_snapshot]="delete-db-cluster-snapshot kds<N> (made unarmed)"
  [copy_snapshot]="copy-db-cluster-snapshot kcs<N> → kcc<N> (source made unarmed)"
  [restore_snapshot]="restore-db-cluster-from-snapshot krs<N> → kr<N> (snapshot made unarmed)"
  [stop]="stop-db-cluster km (started again unarmed)"
  [start]="start-db-cluster km (stopped unarmed first)"
  [create_reader]="create-db-instance kmr<N> --db-cluster-identifier km (a reader of km)"
  [delete_reader]="delete-db-instance kmd<N> (a reader of km made unarmed)"
  [backtrack_readers]="backtrack-db-cluster km --backtrack-to <T> with reader kmb<N> (made unarmed)"
  [failover]="failover-db-cluster km --target-db-instance-identifier kmf<N> (a reader made unarmed)"
  [delete_writer]="delete-db-instance km-1 with reader kmw<N> (made unarmed): a failover first"
)

rows() { sql "$1" "SELECT COUNT(*) FROM t"; }
iso() { date -u -d "@$1" +%Y-%m-%dT%H:%M:%SZ; }
new_instance() {  # new_instance ID CLUSTER
  aws_rds create-db-instance --db-instance-identifier "$1" --db-cluster-identifier "$2" \
    --engine aurora-mysql --db-instance-class db.r5.large >/dev/null
}
new_cluster() {  # new_cluster ID: a cluster without instance
  aws_rds create-db-cluster --db-cluster-identifier "$1" --engine aurora-mysql \
    --master-username masteruser --master-user-password "$MASTER_PASSWORD" \
    --database-name mylab --backtrack-window 3600 >/dev/null
}
# delete_whole_cluster ID: deletes the cluster (and its writer, if any) and proves it gone.
delete_whole_cluster() {
  local pid; pid=$(mariadbd_of "$1")
  if aws_rds describe-db-instances --db-instance-identifier "$1-1" >/dev/null 2>&1; then
    aws_rds delete-db-instance --db-instance-identifier "$1-1" --skip-final-snapshot >/dev/null
    wait_instance_gone "$1-1"
  fi
  aws_rds delete-db-cluster --db-cluster-identifier "$1" --skip-final-snapshot >/dev/null
  wait_cluster_gone "$1"
  # shellcheck disable=SC2086 # pid: empty or one pid
  assert_cluster_gone "$1" $pid
}
exists_cluster() {  # exists_cluster ID: true if DescribeDBClusters knows it
  local out
  out=$(aws_rds describe-db-clusters --db-cluster-identifier "$1" 2>&1) && return 0
  grep -q '(DBClusterNotFoundFault)' <<<"$out" || die "describe-db-clusters $1 failed: $out"
  return 1
}
exists_instance() {
  local out
  out=$(aws_rds describe-db-instances --db-instance-identifier "$1" 2>&1) && return 0
  grep -q '(DBInstanceNotFound)' <<<"$out" || die "describe-db-instances $1 failed: $out"
  return 1
}
# serves CLUSTER: a new writer on CLUSTER answers SQL as the master user in database mylab.
serves_new_writer() {
  new_instance "$1-1" "$1"
  wait_instance "$1-1"
  [ "$(sql "$1" "SELECT DATABASE()")" = mylab ] || die "$1's new writer does not serve mylab"
}

# create: kc<N> is absent, or available and whole (a writer on it serves the master user).
prep_create() { :; }
act_create() { new_cluster "kc$N"; }
check_create() {
  if ! exists_cluster "kc$N"; then log "   absent: kc$N was never created"; return; fi
  serves_new_writer "kc$N"
  log "   whole: kc$N is available and serves"
  delete_whole_cluster "kc$N"
}

# delete: kd<N> is gone for good, or whole (available); then deleted unarmed and proved gone.
prep_delete() { new_cluster "kd$N"; wait_available "kd$N"; }
act_delete() { aws_rds delete-db-cluster --db-cluster-identifier "kd$N" --skip-final-snapshot; }
check_delete() {
  if exists_cluster "kd$N"; then
    log "   absent: kd$N is still there, $(status_of "kd$N"); deleting it unarmed"
    delete_whole_cluster "kd$N"
  else
    assert_cluster_gone "kd$N"
    log "   whole: kd$N is gone, its mount and mariadbd too"
  fi
}

# backtrack: km either holds the state at T (the marker row written after T gone) and the
# backtrack is completed, or holds everything and the backtrack failed or is not listed.
prep_backtrack() {
  sleep 1.1; BT_T=$(date +%s); sleep 1.1
  sql km "INSERT INTO t (v) VALUES ($N)"
  KM_ROWS=$((KM_ROWS + 1))
}
act_backtrack() { aws_rds backtrack-db-cluster --db-cluster-identifier km --backtrack-to "$(iso "$BT_T")"; }
check_backtrack() {
  local status marker
  status=$(backtrack_status km "$BT_T")
  marker=$(sql km "SELECT COUNT(*) FROM t WHERE v = $N" 2>&1) || die "km does not answer: $marker"
  if [ "$marker" = 0 ]; then
    [ "$status" = completed ] || die "km is back at T but its backtrack is '$status', not completed"
    KM_ROWS=$((KM_ROWS - 1))
    log "   whole: the backtrack completed, the row written after T is gone"
  else
    [ "$status" = failed ] || [ -z "$status" ] ||
      die "km still has the row written after T but its backtrack is '$status'"
    log "   absent: the backtrack is '${status:-not listed}', the data untouched"
  fi
}

# clone: kk<N> is absent, or available and holds km's rows at the time asked.
prep_clone() {
  sql km "INSERT INTO t (v) VALUES (-$N)"
  sleep 1.1; CLONE_T=$(date +%s); CLONE_ROWS=$((KM_ROWS + 1)); sleep 1.1
  sql km "INSERT INTO t (v) VALUES (-$N)"
  KM_ROWS=$((KM_ROWS + 2))
}
act_clone() {
  aws_rds restore-db-cluster-to-point-in-time --source-db-cluster-identifier km \
    --db-cluster-identifier "kk$N" --restore-type copy-on-write --restore-to-time "$(iso "$CLONE_T")"
}
check_clone() {
  if ! exists_cluster "kk$N"; then log "   absent: kk$N was never made"; return; fi
  serves_new_writer "kk$N"
  [ "$(rows "kk$N")" = "$CLONE_ROWS" ] ||
    die "clone kk$N holds $(rows "kk$N") rows, not the $CLONE_ROWS of the time asked"
  log "   whole: kk$N is available, with km's $CLONE_ROWS rows of the time asked"
  delete_whole_cluster "kk$N"
}

# reboot: km-1 is available again and serves (checked for every iteration below).
prep_reboot() { :; }
act_reboot() { aws_rds reboot-db-instance --db-instance-identifier km-1; }
check_reboot() { log "   km-1 is available and serves"; }

# modify: the window, the deletion protection and the master password all changed, or none.
KM_WINDOW=86400 KM_PROTECTED=False
prep_modify() {
  if [ "$KM_WINDOW" = 86400 ]; then NEW_WINDOW=43200; else NEW_WINDOW=86400; fi
  if [ "$KM_PROTECTED" = False ]; then NEW_PROTECTED=True; else NEW_PROTECTED=False; fi
  if [ "$MASTER_PASSWORD" = "$PW_A" ]; then NEW_PASSWORD=$PW_B; else NEW_PASSWORD=$PW_A; fi
}
act_modify() {
  local flag=--deletion-protection
  [ "$NEW_PROTECTED" = True ] || flag=--no-deletion-protection
  aws_rds modify-db-cluster --db-cluster-identifier km --backtrack-window "$NEW_WINDOW" "$flag" \
    --master-user-password "$NEW_PASSWORD" --apply-immediately
}
check_modify() {
  local window protected pw=""
  window=$(cluster_field km BacktrackWindow); protected=$(cluster_field km DeletionProtection)
  for _ in $(seq 1 300); do
    if MASTER_PASSWORD=$NEW_PASSWORD sql km "SELECT 1" >/dev/null 2>&1; then pw=new; break; fi
    if sql km "SELECT 1" >/dev/null 2>&1; then pw=old; break; fi
    sleep 0.3
  done
  [ -n "$pw" ] || die "km takes neither the old nor the new master password"
  if [ "$window/$protected/$pw" = "$NEW_WINDOW/$NEW_PROTECTED/new" ]; then
    KM_WINDOW=$NEW_WINDOW KM_PROTECTED=$NEW_PROTECTED MASTER_PASSWORD=$NEW_PASSWORD
    log "   whole: window, deletion protection and password all changed"
  elif [ "$window/$protected/$pw" = "$KM_WINDOW/$KM_PROTECTED/old" ]; then
    log "   absent: nothing changed"
  else
    die "half a modify: window $window, protection $protected, $pw password" \
      "(before: $KM_WINDOW/$KM_PROTECTED, asked: $NEW_WINDOW/$NEW_PROTECTED)"
  fi
}

# create_instance: ki-1 is absent, or available and serving; then deleted unarmed.
prep_create_instance() { :; }
act_create_instance() { new_instance ki-1 ki; }
check_create_instance() {
  if ! exists_instance ki-1; then
    [ -z "$(mariadbd_of ki)" ] || die "ki-1 is absent but a mariadbd of ki runs"
    log "   absent: ki-1 was never created"; return
  fi
  MASTER_PASSWORD=$KI_PW wait_sql ki
  [ "$(MASTER_PASSWORD=$KI_PW sql ki "SELECT DATABASE()")" = mylab ] || die "ki-1 is available but does not serve"
  log "   whole: ki-1 is available and serves"
  drop_ki_writer
}
drop_ki_writer() {
  local pid; pid=$(mariadbd_of ki)
  aws_rds delete-db-instance --db-instance-identifier ki-1 --skip-final-snapshot >/dev/null
  wait_instance_gone ki-1
  [ -z "$pid" ] || [ ! -d "/proc/$pid" ] || die "ki-1 is deleted but its mariadbd $pid runs"
}

# delete_instance: ki-1 is gone with its mariadbd, or available and serving (then deleted).
prep_delete_instance() { new_instance ki-1 ki; wait_instance ki-1; }
act_delete_instance() { aws_rds delete-db-instance --db-instance-identifier ki-1 --skip-final-snapshot; }
check_delete_instance() {
  if exists_instance ki-1; then
    MASTER_PASSWORD=$KI_PW wait_sql ki
    [ "$(MASTER_PASSWORD=$KI_PW sql ki "SELECT DATABASE()")" = mylab ] || die "ki-1 is still there but does not serve"
    log "   absent: ki-1 is still there and serves; deleting it unarmed"
    drop_ki_writer
  else
    [ -z "$(mariadbd_of ki)" ] || die "ki-1 is deleted but a mariadbd of ki runs"
    log "   whole: ki-1 is gone, its mariadbd too"
  fi
}

# Snapshots. pins: the store's pins now (/metrics); a snapshot cut short leaves none behind.
pins() {
  curl -fsS "http://127.0.0.1:$API_PORT/metrics" | awk '$1 == "rewind_store_pins" { print $2 }'
}
exists_snapshot() {  # exists_snapshot ID: true if DescribeDBClusterSnapshots knows it
  local out
  out=$(aws_rds describe-db-cluster-snapshots --db-cluster-snapshot-identifier "$1" 2>&1) && return 0
  grep -q '(DBClusterSnapshotNotFoundFault)' <<<"$out" || die "describe-db-cluster-snapshots $1 failed: $out"
  return 1
}
snapshot_status() {
  aws_rds describe-db-cluster-snapshots --db-cluster-snapshot-identifier "$1" \
    --query 'DBClusterSnapshots[0].Status' --output text
}
new_snapshot() {  # new_snapshot ID: of km, now
  aws_rds create-db-cluster-snapshot --db-cluster-identifier km --db-cluster-snapshot-identifier "$1" >/dev/null
}
drop_snapshot() {
  aws_rds delete-db-cluster-snapshot --db-cluster-snapshot-identifier "$1" >/dev/null
  ! exists_snapshot "$1" || die "snapshot $1 still there after its deletion"
}

# snapshot: ks<N> is absent (no pin left), or available with one pin; then deleted unarmed.
prep_snapshot() { PINS0=$(pins); }
act_snapshot() { new_snapshot "ks$N"; }
check_snapshot() {
  if ! exists_snapshot "ks$N"; then
    [ "$(pins)" = "$PINS0" ] || die "ks$N is absent but the pins went from $PINS0 to $(pins)"
    log "   absent: ks$N was never taken, no pin left"; return
  fi
  [ "$(snapshot_status "ks$N")" = available ] || die "ks$N is $(snapshot_status "ks$N")"
  [ "$(pins)" = $((PINS0 + 1)) ] || die "ks$N is available but the pins are $(pins), not $((PINS0 + 1))"
  log "   whole: ks$N is available, pinned"
  drop_snapshot "ks$N"
}

# delete_snapshot: kds<N> is gone with its pin, or still available (then deleted unarmed).
prep_delete_snapshot() { PINS0=$(pins); new_snapshot "kds$N"; }
act_delete_snapshot() { aws_rds delete-db-cluster-snapshot --db-cluster-snapshot-identifier "kds$N"; }
check_delete_snapshot() {
  if exists_snapshot "kds$N"; then
    [ "$(snapshot_status "kds$N")" = available ] || die "kds$N is $(snapshot_status "kds$N")"
    log "   absent: kds$N is still there, available; deleting it unarmed"
    drop_snapshot "kds$N"
  else
    log "   whole: kds$N is gone"
  fi
  [ "$(pins)" = "$PINS0" ] || die "kds$N is gone but the pins are $(pins), not $PINS0"
}

# copy_snapshot: kcc<N> is absent (one pin: the source's), or available (two); both deleted.
prep_copy_snapshot() { PINS0=$(pins); new_snapshot "kcs$N"; }
act_copy_snapshot() {
  aws_rds copy-db-cluster-snapshot --source-db-cluster-snapshot-identifier "kcs$N" \
    --target-db-cluster-snapshot-identifier "kcc$N"
}
check_copy_snapshot() {
  if exists_snapshot "kcc$N"; then
    [ "$(snapshot_status "kcc$N")" = available ] || die "kcc$N is $(snapshot_status "kcc$N")"
    [ "$(pins)" = $((PINS0 + 2)) ] || die "kcc$N is available but the pins are $(pins)"
    log "   whole: kcc$N is available, pinned"
    drop_snapshot "kcc$N"
  else
    [ "$(pins)" = $((PINS0 + 1)) ] || die "kcc$N is absent but the pins are $(pins)"
    log "   absent: kcc$N was never made, no pin left"
  fi
  drop_snapshot "kcs$N"
}

# restore_snapshot: kr<N> is absent, or available and holds km's rows of the snapshot.
prep_restore_snapshot() {
  new_snapshot "krs$N"; SNAP_ROWS=$KM_ROWS
  sql km "INSERT INTO t (v) VALUES (-$N)"
  KM_ROWS=$((KM_ROWS + 1))
}
act_restore_snapshot() {
  aws_rds restore-db-cluster-from-snapshot --db-cluster-identifier "kr$N" \
    --snapshot-identifier "krs$N" --engine aurora-mysql
}
check_restore_snapshot() {
  if exists_cluster "kr$N"; then
    serves_new_writer "kr$N"
    [ "$(rows "kr$N")" = "$SNAP_ROWS" ] ||
      die "kr$N holds $(rows "kr$N") rows, not the snapshot's $SNAP_ROWS"
    log "   whole: kr$N is available, with the snapshot's $SNAP_ROWS rows"
    delete_whole_cluster "kr$N"
  else
    log "   absent: kr$N was never made"
  fi
  drop_snapshot "krs$N"
}

# Stop and start, of km. km_stopped: km and km-1 are stopped, no mariadbd of km runs, and its
# mount is gone.
km_stopped() {
  [ "$(status_of km)" = stopped ] || die "km is $(status_of km), not stopped"
  [ "$(aws_rds describe-db-instances --db-instance-identifier km-1 \
       --query 'DBInstances[0].DBInstanceStatus' --output text)" = stopped ] || die "km-1 is not stopped"
  [ -z "$(mariadbd_of km)" ] || die "km is stopped but its mariadbd $(mariadbd_of km) runs"
  ! awk -v m="$DATA/mnt/km" '$2 == m { found = 1 } END { exit !found }' /proc/mounts ||
    die "km is stopped but $DATA/mnt/km is still mounted"
}
start_km() {
  aws_rds start-db-cluster --db-cluster-identifier km >/dev/null
  wait_available km
  wait_instance km-1
  wait_sql km
}
# stop: km is stopped (whole), or still available (absent); then started again unarmed.
prep_stop() { :; }
act_stop() { aws_rds stop-db-cluster --db-cluster-identifier km; }
check_stop() {
  if [ "$(status_of km)" = available ]; then log "   absent: km is still available"; wait_sql km; return; fi
  km_stopped
  log "   whole: km is stopped, no mariadbd of it runs, its mount is gone; starting it unarmed"
  start_km
}
# start: km is available and serves (whole), or still stopped (absent: then started unarmed).
prep_start() {
  aws_rds stop-db-cluster --db-cluster-identifier km >/dev/null
  for _ in $(seq 1 600); do [ "$(status_of km)" = stopped ] && break; sleep 0.3; done
  km_stopped
}
act_start() { aws_rds start-db-cluster --db-cluster-identifier km; }
check_start() {
  if [ "$(status_of km)" = stopped ]; then
    km_stopped
    log "   absent: km is still stopped; starting it unarmed"
    start_km
    return
  fi
  wait_sql km
  log "   whole: km is available and serves"
}

# Readers of km. reader_rows ID: km's table as the reader ID answers it (its own endpoint).
reader_rows() {
  local host port
  host=$(aws_rds describe-db-instances --db-instance-identifier "$1" \
           --query 'DBInstances[0].Endpoint.Address' --output text)
  port=$(aws_rds describe-db-instances --db-instance-identifier "$1" \
           --query 'DBInstances[0].Endpoint.Port' --output text)
  mysql -h "$host" -P "$port" -u masteruser -p"$MASTER_PASSWORD" -N -B mylab \
    -e "SELECT COUNT(*) FROM t" 2>/dev/null
}
# reader_follows ID: the reader catches up with km's rows (replication, up to 60 s).
reader_follows() {
  local got=""
  for _ in $(seq 1 300); do
    got=$(reader_rows "$1") || got=""
    [ "$got" = "$KM_ROWS" ] && return 0
    sleep 0.2
  done
  die "reader $1 holds '$got' rows, km $KM_ROWS"
}
# drop_reader ID: deleted unarmed; its mariadbd, mount and run dir gone.
drop_reader() {
  aws_rds delete-db-instance --db-instance-identifier "$1" >/dev/null
  wait_instance_gone "$1"
  assert_reader_gone "$1"
}
assert_reader_gone() {
  awk -v m="$DATA/mnt/.reader-$1" '$2 == m { f = 1 } END { exit !f }' /proc/mounts &&
    die "reader $1 is gone but its mount is left"
  [ ! -e "$DATA/run/.reader-$1" ] || die "reader $1 is gone but its run dir is left"
  return 0
}

# create_reader: kmr<N> is absent, or available and following km; then deleted unarmed.
prep_create_reader() { :; }
act_create_reader() { new_instance "kmr$N" km; }
check_create_reader() {
  if ! exists_instance "kmr$N"; then
    assert_reader_gone "kmr$N"; log "   absent: kmr$N was never created"; return
  fi
  wait_instance "kmr$N"
  sql km "INSERT INTO t (v) VALUES ($N)"; KM_ROWS=$((KM_ROWS + 1))
  reader_follows "kmr$N"
  log "   whole: kmr$N is available and follows km"
  drop_reader "kmr$N"
}

# delete_reader: kmd<N> is gone (mariadbd, mount, run dir), or still follows km (then deleted).
prep_delete_reader() { new_instance "kmd$N" km; wait_instance "kmd$N"; }
act_delete_reader() { aws_rds delete-db-instance --db-instance-identifier "kmd$N"; }
check_delete_reader() {
  if exists_instance "kmd$N"; then
    wait_instance "kmd$N"
    reader_follows "kmd$N"
    log "   absent: kmd$N is still there and follows km; deleting it unarmed"
    drop_reader "kmd$N"
  else
    assert_reader_gone "kmd$N"
    log "   whole: kmd$N is gone, its mariadbd and mount too"
  fi
}

# backtrack_readers: as backtrack, with a reader kmb<N> that serves km's rows after (re-cloned
# from the rewound head and following again); then deleted unarmed.
prep_backtrack_readers() {
  new_instance "kmb$N" km; wait_instance "kmb$N"
  prep_backtrack
}
act_backtrack_readers() { act_backtrack; }
check_backtrack_readers() {
  check_backtrack
  wait_instance "kmb$N"
  reader_follows "kmb$N"
  sql km "INSERT INTO t (v) VALUES (-$N)"; KM_ROWS=$((KM_ROWS + 1))
  reader_follows "kmb$N"
  log "   the reader kmb$N serves km's rows after the backtrack and follows km"
  drop_reader "kmb$N"
}

# Failover of km. km_writer: the member DBClusterMembers marks IsClusterWriter.
km_writer() {
  # shellcheck disable=SC2016 # a JMESPath literal, not a shell expansion
  aws_rds describe-db-clusters --db-cluster-identifier km \
    --query 'DBClusters[0].DBClusterMembers[?IsClusterWriter==`true`].DBInstanceIdentifier' \
    --output text
}
# fail_over_to ID: km fails over to its reader ID (unarmed) and serves again.
fail_over_to() {
  aws_rds failover-db-cluster --db-cluster-identifier km --target-db-instance-identifier "$1" >/dev/null
  wait_available km
  [ "$(km_writer)" = "$1" ] || die "km's writer is $(km_writer) after a failover to $1"
  wait_sql km
}
# failover: kmf<N> is the writer and km-1 a reader following it (whole; then failed back
# unarmed), or km-1 is still the writer and kmf<N> follows it (absent); kmf<N> then deleted.
prep_failover() { new_instance "kmf$N" km; wait_instance "kmf$N"; }
act_failover() {
  aws_rds failover-db-cluster --db-cluster-identifier km --target-db-instance-identifier "kmf$N"
}
check_failover() {
  local w; w=$(km_writer)
  if [ "$w" = "kmf$N" ]; then
    sql km "INSERT INTO t (v) VALUES ($N)"; KM_ROWS=$((KM_ROWS + 1))
    reader_follows km-1
    log "   whole: kmf$N is the writer, km-1 a reader following it; failing back unarmed"
    fail_over_to km-1
    wait_instance "kmf$N"
  else
    [ "$w" = km-1 ] || die "km's writer is '$w', neither km-1 nor kmf$N"
    log "   absent: km-1 is still the writer"
  fi
  reader_follows "kmf$N"
  drop_reader "kmf$N"
}
# delete_writer: km-1 is gone and kmw<N> is the writer (whole: km-1 is made again as a reader
# and km failed back to it, unarmed), or km-1 is still the writer (absent); kmw<N> then deleted.
prep_delete_writer() { new_instance "kmw$N" km; wait_instance "kmw$N"; }
act_delete_writer() { aws_rds delete-db-instance --db-instance-identifier km-1; }
check_delete_writer() {
  local w; w=$(km_writer)
  if exists_instance km-1; then
    [ "$w" = km-1 ] || die "km-1 is there but km's writer is '$w'"
    log "   absent: km-1 is still the writer"
  else
    [ "$w" = "kmw$N" ] || die "km-1 is deleted but km's writer is '$w', not kmw$N"
    sql km "INSERT INTO t (v) VALUES ($N)"; KM_ROWS=$((KM_ROWS + 1))
    log "   whole: km-1 is deleted, kmw$N is the writer; km-1 made again, failing back to it"
    new_instance km-1 km; wait_instance km-1
    fail_over_to km-1
    wait_instance "kmw$N"
  fi
  reader_follows "kmw$N"
  drop_reader "kmw$N"
}

# ---------------------------------------------------------------------------------------------
# The failpoints, from the source tree.
mapfile -t ALL < <(grep -rhoE --include='*.cc' --include='*.h' --exclude='*_test.cc' \
  'Failpoint\("cluster\.[^"]*"' "$SRC_DIR" | sed 's/^Failpoint("//; s/"$//' | sort -u)
[ "${#ALL[@]}" -gt 0 ] || die "no cluster.* failpoint found under $SRC_DIR: the grep is broken"
# A call site the grep cannot read (a name built at run time) would go uncovered: refuse it.
HIDDEN=$(grep -rnE --include='*.cc' --exclude='*_test.cc' '[^A-Za-z_]Failpoint\([^")]' \
  "$SRC_DIR/cluster" || true)
[ -z "$HIDDEN" ] || die "failpoints in src/cluster without a literal name, the matrix cannot see them: $HIDDEN"
# Operations this matrix cannot drive (they need what it does not run): each of their
# failpoints counts as covered only when a test that kills there names it literally, in one of
# the places listed. peer_clone needs a peer's bucket (Ceph): the service is killed at each of
# its steps by src/cluster/cluster_peer_clone_test.cc (stand-in engine, a store as the peer),
# rewindd by the kill driver under tests/objstore (real Ceph).
declare -A ELSEWHERE=(
  [peer_clone]="$SRC_DIR/cluster/cluster_peer_clone_test.cc $SRC_DIR/../tests/objstore"
)
UNKNOWN=()
FPS=()
for fp in "${ALL[@]}"; do
  if [[ ! $fp =~ ^cluster\.([a-z_]+)\.([a-z0-9_]+)$ ]]; then
    UNKNOWN+=("$fp (not named cluster.<operation>.<step>)"); continue
  fi
  if [ -n "${ELSEWHERE[${BASH_REMATCH[1]}]:-}" ]; then
    # shellcheck disable=SC2086  # a list of paths
    if grep -rqwF --include='*.cc' --include='*.sh' -- "$fp" ${ELSEWHERE[${BASH_REMATCH[1]}]}; then
      log "covered elsewhere: $fp"
    else
      UNKNOWN+=("$fp (operation '${BASH_REMATCH[1]}' is driven elsewhere, but no test there names it)")
    fi
    continue
  fi
  if [ -z "${OPS[${BASH_REMATCH[1]}]:-}" ]; then
    UNKNOWN+=("$fp (no driver for operation '${BASH_REMATCH[1]}')"); continue
  fi
  [[ $fp =~ ${KILL_MATRIX_ONLY:-.} ]] && FPS+=("$fp")
done
log "failpoints found: ${#ALL[@]}; to run: ${#FPS[@]}"
for u in "${UNKNOWN[@]}"; do log "NOT COVERED: $u"; done

# ---------------------------------------------------------------------------------------------
e2e_start
create_cluster_with_writer km 86400
sql km "CREATE TABLE t (id INT AUTO_INCREMENT PRIMARY KEY, v INT)"
sql km "INSERT INTO t (v) VALUES (0)"
KM_ROWS=1
MASTER_PASSWORD=$KI_PW new_cluster ki
wait_available ki

# settle: every cluster and instance reaches available (or stopped: a stop resumed after the
# restart), or is gone (up to 180 s); failed or stuck is a failure.
settle() {
  local states
  for _ in $(seq 1 600); do
    # (polled with curl's SigV4, not the aws CLI: see rds_query in lib.sh)
    states=$( { rds_query DescribeDBClusters | xml_values Status
                rds_query DescribeDBInstances | xml_values DBInstanceStatus
              } | sort)
    [ -n "$states" ] && ! grep -qvxE '(available|stopped)' <<<"$states" && return 0
    grep -qx failed <<<"$states" && die "after the restart: $(members_and_states)"
    sleep 0.3
  done
  die "not settled 180 s after the restart: $(members_and_states)"
}
members_and_states() {
  { aws_rds describe-db-clusters --query 'DBClusters[].[DBClusterIdentifier,Status]' --output text
    aws_rds describe-db-instances --query 'DBInstances[].[DBInstanceIdentifier,DBInstanceStatus]' \
      --output text
  } | tr '\n\t' '  '
}
# serving: km answers with every row it acknowledged, and takes a write.
serving() {
  [ "$(rows km)" = "$KM_ROWS" ] || die "km holds $(rows km) rows, expected $KM_ROWS"
  sql km "CHECK TABLE t" | grep -q "status	OK" || die "CHECK TABLE t on km is not OK"
}

MOUNTS0=$(e2e_mounts)
PROCS0=$(e2e_processes)
log "baseline: $(wc -l <<<"$MOUNTS0") mounts, $(wc -l <<<"$PROCS0") processes of this run"
grep -q '^orphan' <<<"$PROCS0" && die "orphan processes before the matrix ran: $PROCS0"
T_START=$(date +%s)
for fp in "${FPS[@]}"; do
  N=$((N + 1))
  op=$(cut -d. -f2 <<<"$fp")
  log "[$N/${#FPS[@]}] $fp: ${OPS[$op]}"
  "prep_$op"
  e2e_stop TERM
  REWIND_FAILPOINTS=$fp e2e_start
  settle
  "act_$op" >"$E2E_DIR/act.out" 2>&1 ||
    log "   (the call failed, rewindd dying first or a refusal: $(tail -c 300 "$E2E_DIR/act.out" | tr '\n' ' '))"
  e2e_wait_failpoint "$fp"
  REWIND_FAILPOINTS="" e2e_start
  settle
  # (modify may have changed km's password: check_modify; stop and start check km themselves)
  case $op in modify|stop|start) ;; *) wait_sql km ;; esac
  "check_$op"
  serving
  settle
  # A short-lived helper of rewindd's may be caught running: look again for a few seconds.
  for _ in $(seq 1 10); do
    MOUNTS=$(e2e_mounts) PROCS=$(e2e_processes)
    [ "$MOUNTS" = "$MOUNTS0" ] && [ "$PROCS" = "$PROCS0" ] && break
    sleep 0.5
  done
  [ "$MOUNTS" = "$MOUNTS0" ] || die "mounts differ from before $fp: $(diff <(echo "$MOUNTS0") <(echo "$MOUNTS"))"
  [ "$PROCS" = "$PROCS0" ] || die "processes differ from before $fp: $(diff <(echo "$PROCS0") <(echo "$PROCS"))"
done
log "${#FPS[@]} failpoints killed rewindd in $(( $(date +%s) - T_START )) s; each operation whole or absent"
[ "${#UNKNOWN[@]}" = 0 ] || die "${#UNKNOWN[@]} failpoint(s) the matrix cannot drive: ${UNKNOWN[*]}"
[ "${#FPS[@]}" -gt 0 ] || die "KILL_MATRIX_ONLY='${KILL_MATRIX_ONLY:-}' selects no failpoint"
log "PASS"
