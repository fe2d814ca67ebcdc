#!/usr/bin/env bash
# Named failpoints (src/common/failpoint.h): rewindd dies at a chosen step of a backtrack or a
# clone, or halfway through writing a log record; after a restart the operation is whole or not
# there at all, never half, and the API says which. Real rewindd, aws, mysql.
source "$(dirname "$0")/lib.sh"
ROWS=1000
MASTER_PASSWORD="Fp-pass-$RANDOM$RANDOM"

rows() { sql "$1" "SELECT COUNT(*) FROM t"; }
insert() { sql "$1" "INSERT INTO t (v) VALUES $(seq -s, -f '(%g)' 1 "$2")"; }
iso() { date -u -d "@$1" +%Y-%m-%dT%H:%M:%SZ; }
# restart_with FAILPOINTS: rewindd again on the same data dir with those failpoints armed.
restart_with() {
  [ -z "$REWINDD_PID" ] || e2e_stop TERM
  REWIND_FAILPOINTS=$1 e2e_start
}
# backtrack_through_crash FAILPOINT T: fp backtracks to epoch second T with FAILPOINT armed;
# rewindd dies there and is started again without it, with fp and its writer back up.
backtrack_through_crash() {
  restart_with "$1"
  wait_instance fp-1
  start_then_crash "$1" backtrack-db-cluster --db-cluster-identifier fp --backtrack-to "$(iso "$2")"
  restart_with ""
  wait_available fp
  wait_instance fp-1
}
# start_then_crash FAILPOINT aws-args…: the call may or may not get its answer before rewindd
# dies at FAILPOINT.
start_then_crash() {
  local fp=$1; shift
  aws_rds "$@" >/dev/null 2>&1 || log "   (the call lost its answer: rewindd died first)"
  e2e_wait_failpoint "$fp"
}

e2e_start
create_cluster_with_writer fp 86400
sql fp "CREATE TABLE t (id INT AUTO_INCREMENT PRIMARY KEY, v INT)"
insert fp 10
sleep 1.2; T10=$(date +%s); sleep 1.2
insert fp 20
sleep 1.2; T30=$(date +%s); sleep 1.2
insert fp 40
[ "$(rows fp)" = 70 ] || die "setup: $(rows fp) rows"

log "crash after the store rewound, before SQLite heard of it: the backtrack completed"
backtrack_through_crash cluster.backtrack.after_rewind "$T30"
[ "$(backtrack_status fp "$T30")" = completed ] || die "the backtrack to T30 is '$(backtrack_status fp "$T30")'"
[ "$(rows fp)" = 30 ] || die "after the landed backtrack: $(rows fp) rows, expected 30"

log "crash before the store rewound: the backtrack failed, the data is untouched"
backtrack_through_crash cluster.backtrack.before_rewind "$T10"
[ "$(backtrack_status fp "$T10")" = failed ] || die "the backtrack to T10 is '$(backtrack_status fp "$T10")'"
[ "$(rows fp)" = 30 ] || die "after the failed backtrack: $(rows fp) rows, expected 30"
EVENTS=$(aws_rds describe-events --source-identifier fp --source-type db-cluster \
  --event-categories backtrack --query 'Events[].Message' --output text)
grep -q 'interrupted by a restart' <<<"$EVENTS" || die "no event says the backtrack was cut short"

log "crash before the store cloned: after the restart the clone is made, at the time asked"
restart_with cluster.clone.before_store_clone
wait_instance fp-1
start_then_crash cluster.clone.before_store_clone \
  restore-db-cluster-to-point-in-time --source-db-cluster-identifier fp --db-cluster-identifier fp-c1 \
  --restore-type copy-on-write --restore-to-time "$(iso "$T10")"
restart_with ""
wait_available fp-c1
aws_rds create-db-instance --db-instance-identifier fp-c1-1 --db-cluster-identifier fp-c1 \
  --engine aurora-mysql --db-instance-class db.r5.large >/dev/null
wait_instance fp-c1-1
[ "$(rows fp-c1)" = 10 ] || die "clone fp-c1: $(rows fp-c1) rows, expected 10 (the moment asked for)"

log "crash after the store cloned: after the restart the clone is whole"
restart_with cluster.clone.after_store_clone
wait_instance fp-1
start_then_crash cluster.clone.after_store_clone \
  restore-db-cluster-to-point-in-time --source-db-cluster-identifier fp --db-cluster-identifier fp-c2 \
  --restore-type copy-on-write --use-latest-restorable-time
restart_with ""
wait_available fp-c2
aws_rds create-db-instance --db-instance-identifier fp-c2-1 --db-cluster-identifier fp-c2 \
  --engine aurora-mysql --db-instance-class db.r5.large >/dev/null
wait_instance fp-c2-1
[ "$(rows fp-c2)" = 30 ] || die "clone fp-c2: $(rows fp-c2) rows, expected 30"

log "crash halfway through a log record: acknowledged rows stay, the torn record is cut"
e2e_stop TERM
REWIND_FAILPOINTS=store.append.torn E2E_NO_WAIT=1 e2e_start
e2e_wait_failpoint store.append.torn  # mariadbd's first write after the restart tears
restart_with ""
wait_available fp
wait_instance fp-1
[ "$(rows fp)" = 30 ] || die "after a torn record: $(rows fp) rows, expected 30"
grep -q 'torn tail cut' "$E2E_DIR/rewindd.log" || die "the restart did not report the torn record it cut"
log "   $(grep -o 'torn tail cut: .*' "$E2E_DIR/rewindd.log" | tail -1)"
sql fp "CHECK TABLE t" | grep -q 'OK' || die "CHECK TABLE t is not OK"
insert fp 5
[ "$(rows fp)" = 35 ] || die "writes after the torn record: $(rows fp) rows"
log "no secret in logs, events or metadata files readable by others"
SECRET=$(awk -F' *= *' '$1 == "aws_secret_access_key" { print $2 }' "$DATA/credentials")
[ -n "$SECRET" ] || die "no secret in the credentials file"
aws_rds describe-events --duration 1440 --output json > "$E2E_DIR/events.json"
for f in "$E2E_DIR/rewindd.log" "$E2E_DIR/events.json" "$DATA"/run/*/mariadbd/mariadbd.err; do
  [ -f "$f" ] || continue
  grep -qF -- "$MASTER_PASSWORD" "$f" && die "the master password is in $f"
  grep -qF -- "$SECRET" "$f" && die "the API secret is in $f"
done
for f in "$DATA/credentials" "$DATA/meta.db" "$DATA"/run/*/root.password; do
  [ "$(stat -c %a "$f")" = 600 ] || die "$f is mode $(stat -c %a "$f"), not 600"
done
# ss must run and must see the API's own listener, or the check below proves nothing.
LISTENING=$(ss -ltnH | awk '{print $4}') || die "cannot run ss -ltnH (package iproute2): the listen check cannot be made"
for port in "$API_PORT" "$(cluster_field fp Port)"; do
  echo "$LISTENING" | grep -qE "^127\.0\.0\.1:$port\$" ||
    die "ss does not show 127.0.0.1:$port listening; its output: $LISTENING"
done
echo "$LISTENING" | grep -E ":($(cluster_field fp Port)|$API_PORT)\$" | grep -v '^127\.' &&
  die "rewindd or a mariadbd listens beyond 127.0.0.0/8 (the reader endpoint's HAProxy uses 127.0.0.2)"
log "PASS"
