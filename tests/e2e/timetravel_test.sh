#!/usr/bin/env bash
# The past without rewinding (issue 17), through the real `rewind` CLI, mysql and aws against a
# real mariadbd: `rewind time-travel` serves the state at T read-only on its own port while the
# live cluster's open connection goes on; `rewind query` prints the past as mysql -B does;
# `rewind restore-table` undoes a bad DELETE of one table while another table keeps being
# written; foreign keys are refused unless --with-related; a dropped table comes back; bad
# inputs are refused with nothing changed; a rewindd killed with instances running leaves none
# behind after its restart.
source "$(dirname "$0")/lib.sh"
MASTER_PASSWORD="Asof-pass-$RANDOM"
REWIND="$BUILD_DIR/src/cli/rewind"
REWINDD_ARGS="--time-travel-poll 1000"
rw() { "$REWIND" --endpoint "http://127.0.0.1:$API_PORT" --credentials "$DATA/credentials" "$@"; }
iso() { date -u -d "@$1" +%Y-%m-%dT%H:%M:%S.%NZ | sed 's/\([0-9]\{6\}\)[0-9]*Z$/\1Z/'; }
now() { date +%s.%N; }
my() { mysql -h 127.0.0.1 -P "$1" -u masteruser -p"$MASTER_PASSWORD" -N -B mylab -e "$2"; }
# expect_rw_error CODE args...: the rewind CLI fails naming that code.
expect_rw_error() {
  local code=$1; shift
  local out rc=0
  out=$(rw "$@" 2>&1) || rc=$?
  [ $rc -ne 0 ] || die "expected $code from: rewind $*; it succeeded: $out"
  echo "$out" | grep -q "$code" || die "expected $code from: rewind $*; got: $out"
  log "refused as expected: $code: $(echo "$out" | head -1)"
}
asof_leftovers() {
  { ls -d "$DATA"/mnt/.asof-* "$DATA"/run/.asof-* 2>/dev/null || true; } | wc -l
}
asof_mounts() { awk -v d="$DATA/mnt/.asof-" 'index($2, d) == 1' /proc/mounts | wc -l; }

e2e_start
create_cluster_with_writer tt 3600
PORT=$(cluster_field tt Port)
sql tt "CREATE TABLE items (id INT PRIMARY KEY, v VARCHAR(40), n INT);
  INSERT INTO items SELECT seq, CONCAT('item-', seq), seq * 10 FROM seq_1_to_1000;
  CREATE TABLE ticks (id INT AUTO_INCREMENT PRIMARY KEY, at DATETIME(6));
  CREATE TABLE parent (id INT PRIMARY KEY) ENGINE=InnoDB;
  CREATE TABLE child (id INT PRIMARY KEY, pid INT, CONSTRAINT fk_child_parent FOREIGN KEY (pid) REFERENCES parent (id)) ENGINE=InnoDB;
  INSERT INTO parent SELECT seq FROM seq_1_to_10; INSERT INTO child SELECT seq, seq FROM seq_1_to_10;
  CREATE TABLE doomed (id INT PRIMARY KEY, s VARCHAR(10)); INSERT INTO doomed VALUES (1, 'a'), (2, 'b')"
SUM_T1=$(sql tt "CHECKSUM TABLE items" | awk '{print $2}')
sleep 1.2
T1=$(now)
sleep 1.2

log "a live connection stays open through everything below"
mkfifo "$E2E_DIR/live.in"
mysql -h 127.0.0.1 -P "$PORT" -u masteruser -p"$MASTER_PASSWORD" -N -B -n mylab <"$E2E_DIR/live.in" \
  >"$E2E_DIR/live.out" 2>&1 &
LIVE_PID=$!
E2E_BG_PIDS+=("$LIVE_PID")
exec 7>"$E2E_DIR/live.in"
echo "SELECT CONNECTION_ID();" >&7
sleep 0.5
LIVE_CONN=$(head -1 "$E2E_DIR/live.out")
[ -n "$LIVE_CONN" ] || die "the live connection did not answer"

log "the bad DELETE (and a dropped table), while ticks keeps being written"
sql tt "DELETE FROM items WHERE id % 3 = 0; UPDATE items SET n = -1 WHERE id = 1; DROP TABLE doomed"
( while true; do my "$PORT" "INSERT INTO ticks (at) VALUES (NOW(6))" >/dev/null 2>&1; sleep 0.05; done ) &
E2E_BG_PIDS+=("$!")
sleep 1
[ "$(sql tt "SELECT COUNT(*) FROM items")" = 667 ] || die "the DELETE did not happen"

log "time-travel to T1"
OUT=$(rw time-travel tt --at "$(iso "$T1")" --minutes 1)
echo "$OUT" | sed 's/^/    /'
TT_PORT=$(echo "$OUT" | awk '/^Port:/ { print $2 }')
TT_ID=$(echo "$OUT" | awk '/^Time-travel instance/ { print $3 }')
[ -n "$TT_PORT" ] && [ -n "$TT_ID" ] || die "time-travel printed no port or id"
echo "$OUT" | grep -q "^Host: 127.0.0.1$" || die "time-travel printed no host"
[ "$(my "$TT_PORT" "SELECT COUNT(*) FROM items")" = 1000 ] || die "time-travel does not show T1's rows"
[ "$(my "$TT_PORT" "CHECKSUM TABLE items" | awk '{print $2}')" = "$SUM_T1" ] || die "T1 checksum differs"
[ "$(my "$TT_PORT" "SELECT COUNT(*) FROM doomed")" = 2 ] || die "the dropped table is not there at T1"
if my "$TT_PORT" "INSERT INTO items VALUES (5000, 'x', 0)" 2>"$E2E_DIR/ro.err"; then
  die "the master user could write on a time-travel instance"
fi
grep -q -- "--read-only" "$E2E_DIR/ro.err" || die "write refused for another reason: $(cat "$E2E_DIR/ro.err")"
mysqldump -h 127.0.0.1 -P "$TT_PORT" -u masteruser -p"$MASTER_PASSWORD" --single-transaction \
  mylab items >"$E2E_DIR/items-t1.sql" || die "mysqldump of the time-travel instance failed"
grep -q "item-999" "$E2E_DIR/items-t1.sql" || die "the dump misses a row of T1"
[ "$(sql tt "SELECT COUNT(*) FROM items")" = 667 ] || die "the live cluster changed"
OUT=$(rw time-travel tt --list)
echo "$OUT" | grep -q "$TT_ID" || die "--list does not show $TT_ID: $OUT"

log "the live connection survived"
echo "SELECT CONNECTION_ID(), COUNT(*) FROM items;" >&7
sleep 0.5
tail -1 "$E2E_DIR/live.out" | grep -q "^$LIVE_CONN	667$" ||
  die "the live connection was dropped or changed: $(cat "$E2E_DIR/live.out")"

log "query at T1 (reuses the running instance) and at now"
Q=$(rw query tt --at "$(iso "$T1")" -e "SELECT id, v, n FROM items WHERE id IN (1, 3) ORDER BY id")
EXPECTED=$(printf 'id\tv\tn\n1\titem-1\t10\n3\titem-3\t30')
[ "$Q" = "$EXPECTED" ] || die "query at T1 printed: $Q"
Q2=$(mysql -h 127.0.0.1 -P "$TT_PORT" -u masteruser -p"$MASTER_PASSWORD" -B mylab \
  -e "SELECT id, v, n FROM items WHERE id IN (1, 3) ORDER BY id")
[ "$Q" = "$Q2" ] || die "rewind query and mysql -B differ: $Q / $Q2"
[ "$(rw query tt --at now -e "SELECT COUNT(*) AS c FROM items")" = "$(printf 'c\n667')" ] ||
  die "query at now"
expect_rw_error InvalidParameterValue query tt --at "$(iso "$T1")" -e "DELETE FROM items"
[ "$(sql tt "SELECT COUNT(*) FROM items")" = 667 ] || die "the live cluster changed after query"

log "errors: outside the window, the future, unknown table, FK without --with-related"
expect_rw_error InvalidParameterValue time-travel tt --at "2001-01-01T00:00:00Z"
expect_rw_error InvalidParameterValue time-travel tt --at "$(iso $(( $(date +%s) + 3600 )))"
expect_rw_error DBClusterNotFoundFault time-travel nosuch --at now
expect_rw_error InvalidParameterValue restore-table tt --table mylab.nosuch --to "$(iso "$T1")"
expect_rw_error InvalidParameterValue restore-table tt --table nodot --to "$(iso "$T1")"
OUT=$(rw restore-table tt --table mylab.child --to "$(iso "$T1")" 2>&1) && die "FK table restored: $OUT"
echo "$OUT" | grep -q "mylab.parent (constraint fk_child_parent)" || die "FK refusal: $OUT"
expect_rw_error InvalidParameterValue query tt --at "2001-01-01T00:00:00Z" -e "SELECT 1"
KEY=$(awk -F' *= *' '/aws_access_key_id/ { print $2; exit }' "$DATA/credentials")
SECRET=$(awk -F' *= *' '/aws_secret_access_key/ { print $2; exit }' "$DATA/credentials")
XML=$(curl -sS --aws-sigv4 "aws:amz:us-east-1:rds" --user "$KEY:$SECRET" "http://127.0.0.1:$API_PORT/" \
  -d Action=StartDBClusterTimeTravel -d Version=2014-10-31 -d DBClusterIdentifier=tt -d Bogus=1)
echo "$XML" | grep -q "<Code>InvalidParameterValue</Code>" || die "an unknown parameter was not refused: $XML"
echo "$XML" | grep -q "Bogus" || die "the refusal does not name the parameter: $XML"
XML=$(curl -sS --aws-sigv4 "aws:amz:us-east-1:rds" --user "$KEY:$SECRET" "http://127.0.0.1:$API_PORT/" \
  -d Action=StartDBClusterTimeTravel -d Version=2014-10-31 -d DBClusterIdentifier=tt -d IdleMinutes=0)
echo "$XML" | grep -q "<Code>InvalidParameterValue</Code>" || die "IdleMinutes=0 was not refused: $XML"
[ "$(sql tt "SELECT COUNT(*) FROM items")" = 667 ] || die "a refusal changed the live cluster"

log "restore-table items to T1 while ticks keeps being written"
TICKS_BEFORE=$(sql tt "SELECT COUNT(*) FROM ticks")
OUT=$(rw restore-table tt --table mylab.items --to "$(iso "$T1")")
echo "$OUT" | sed 's/^/    /'
echo "$OUT" | grep -q "how: one transaction" || die "restore-table did not say its method up front"
[ "$(sql tt "CHECKSUM TABLE items" | awk '{print $2}')" = "$SUM_T1" ] || die "items is not as at T1"
sleep 1
[ "$(sql tt "SELECT COUNT(*) FROM ticks")" -gt "$TICKS_BEFORE" ] || die "ticks stopped being written"
echo "SELECT CONNECTION_ID(), COUNT(*) FROM items;" >&7
sleep 0.5
tail -1 "$E2E_DIR/live.out" | grep -q "^$LIVE_CONN	1000$" || die "the live connection: $(tail -2 "$E2E_DIR/live.out")"
OUT=$(aws_rds describe-events --source-identifier tt --source-type db-cluster --duration 60 \
  --query 'Events[].Message' --output text)
echo "$OUT" | grep -q "Table mylab.items restored" || die "no event for the restore: $OUT"

log "a dropped table comes back; FK tables together with --with-related"
OUT=$(rw restore-table tt --table mylab.doomed --to "$(iso "$T1")")
echo "$OUT" | grep -q "RENAME TABLE" || die "restoring a dropped table: $OUT"
[ "$(sql tt "SELECT GROUP_CONCAT(s ORDER BY id) FROM doomed")" = "a,b" ] || die "doomed not back"
sql tt "SET foreign_key_checks = 0; DELETE FROM child WHERE id > 5; DELETE FROM parent WHERE id > 5"
OUT=$(rw restore-table tt --table mylab.child --to "$(iso "$T1")" --with-related)
echo "$OUT" | grep -q "mylab.parent" || die "--with-related: $OUT"
[ "$(sql tt "SELECT COUNT(*) FROM child JOIN parent ON parent.id = child.pid")" = 10 ] ||
  die "child/parent not back together"
OUT=$(sql tt "SHOW CREATE TABLE child")
echo "$OUT" | grep -q "REFERENCES \`parent\`" || die "the child's foreign key moved: $OUT"

log "--stop, and idle expiry"
OUT=$(rw time-travel tt --stop "$TT_ID")
echo "$OUT" | grep -q "$TT_ID" || die "--stop: $OUT"
[ "$(asof_mounts)" = 0 ] || die "a stopped instance left its mount"
if my "$TT_PORT" "SELECT 1" 2>/dev/null; then die "the stopped instance still serves"; fi
expect_rw_error DBClusterTimeTravelNotFoundFault time-travel tt --stop "$TT_ID"
OUT=$(rw time-travel tt --at "$(iso "$T1")" --minutes 1)
IDLE_ID=$(echo "$OUT" | awk '/^Time-travel instance/ { print $3 }')
for _ in $(seq 1 100); do
  OUT=$(rw time-travel tt --list)
  echo "$OUT" | grep -q "$IDLE_ID" || break
  sleep 1
done
echo "$OUT" | grep -q "$IDLE_ID" && die "an idle instance was not stopped in time"
# It leaves the list as its stop begins; the unmount follows within moments.
for _ in $(seq 1 100); do [ "$(asof_mounts)" = 0 ] && break; sleep 0.1; done
[ "$(asof_mounts)" = 0 ] || die "the idle instance left its mount"

log "a rewindd killed with an instance running leaves nothing after its restart"
rw time-travel tt --at "$(iso "$T1")" >/dev/null
[ "$(asof_mounts)" = 1 ] || die "no time-travel mount"
exec 7>&-
e2e_stop KILL
e2e_start
wait_instance tt-1
[ "$(asof_mounts)" = 0 ] || die "a time-travel mount survived the restart"
[ "$(asof_leftovers)" = 0 ] || die "time-travel directories survived the restart"
if pgrep -f -- "--defaults-file=$DATA/run/.asof-" >/dev/null; then die "a time-travel mariadbd survived"; fi
rw time-travel tt --at "$(iso "$T1")" >/dev/null
e2e_stop TERM
[ "$(asof_mounts)" = 0 ] || die "an orderly stop left a time-travel mount"
log "PASS"
