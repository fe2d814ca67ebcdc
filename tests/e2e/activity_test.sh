#!/usr/bin/env bash
# The activity timeline through the real clients: bursts of writes through `mysql` with pauses
# between them show in `rewind activity` at the seconds they happened, and the quiet seconds of
# the pauses show nothing; after a backtrack the timeline follows the cluster's history (the
# undone burst stays where it happened, the new one shows); json parses; the raw
# DescribeDBClusterActivity answers through SigV4 (curl --aws-sigv4); bad inputs get clear errors.
source "$(dirname "$0")/lib.sh"
MASTER_PASSWORD="Activity-pass-$RANDOM"
REWIND="$BUILD_DIR/src/cli/rewind"
rw() { "$REWIND" --endpoint "http://127.0.0.1:$API_PORT" --credentials "$DATA/credentials" "$@"; }
iso() { date -u -d "@$1" +%Y-%m-%dT%H:%M:%SZ; }

# burst SECONDS: one connection updates (and commits) rows of a small table for SECONDS seconds
# (a few pages only: InnoDB's page cleaner flushes them within a second or two after the burst,
# where a growing table would keep it flushing through the pauses), starting
# at a whole second, in a procedure that watches the server's clock (statements piped from the
# shell would run on after the burst's end). Sets B_FROM / B_TO (epoch seconds; B_TO exclusive).
burst() {
  local now; now=$(date +%s.%N)
  sleep "$(awk -v n="$now" 'BEGIN { printf "%.3f", int(n) + 1 - n }')"
  B_FROM=$(date +%s)
  B_TO=$((B_FROM + $1))
  mysql -h "$HOST" -P "$PORT" -u masteruser -p"$MASTER_PASSWORD" mylab -e "CALL burst($B_TO)"
}
# activity_json FROM TO: per-second activity as "epoch bytes records" lines.
activity_lines() {
  rw activity act --from "$(iso "$1")" --to "$(iso "$2")" --step 1s --format json |
    python3 -c 'import json, sys, datetime
for p in json.load(sys.stdin):
    t = datetime.datetime.strptime(p["time"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.timezone.utc)
    print(int(t.timestamp()), p["bytes"], p["records"])'
}
# check_burst LINES FROM TO: every second of [FROM, TO) wrote data.
check_burst() {
  local s
  for ((s = $2; s < $3; s++)); do
    awk -v s="$s" '$1 == s && $2 > 0 { found = 1 } END { exit !found }' <<<"$1" ||
      die "no bytes at $(iso "$s") inside a burst: $(grep "^$s " <<<"$1")"
  done
}
# check_quiet LINES FROM TO: no second of [FROM, TO) wrote anything.
check_quiet() {
  awk -v a="$2" -v b="$3" '$1 >= a && $1 < b && ($2 > 0 || $3 > 0) { print; bad = 1 } END { exit bad }' \
    <<<"$1" || die "activity inside a pause [$(iso "$2"), $(iso "$3")): see above"
}

e2e_start
create_cluster_with_writer act 3600
# Quiet engine between bursts: no background flushing of pages a second after a burst's commit
# would show up in the pauses (the page cleaner and the purge still run, they just find nothing).
HOST=$(cluster_field act Endpoint); PORT=$(cluster_field act Port)
sql act "CREATE TABLE t (id INT PRIMARY KEY, n INT, v VARCHAR(200));
  INSERT INTO t SELECT seq, 0, REPEAT('v', 200) FROM seq_1_to_100"
mysql -h "$HOST" -P "$PORT" -u masteruser -p"$MASTER_PASSWORD" mylab <<'SQL'
DELIMITER //
CREATE PROCEDURE burst(until_s BIGINT)
BEGIN
  WHILE UNIX_TIMESTAMP(NOW(6)) < until_s DO
    UPDATE t SET n = n + 1 WHERE id = 1 + FLOOR(RAND() * 100);
  END WHILE;
END//
DELIMITER ;
SQL
sleep 5

log "two bursts with pauses between"
burst 3; B1_FROM=$B_FROM; B1_TO=$B_TO
sleep 8
burst 3; B2_FROM=$B_FROM; B2_TO=$B_TO
sleep 8
END=$(date +%s)
LINES=$(activity_lines "$((B1_FROM - 4))" "$END")
log "activity per second:"; echo "$LINES" | sed 's/^/    /'
check_burst "$LINES" "$B1_FROM" "$B1_TO"
check_burst "$LINES" "$B2_FROM" "$B2_TO"
# The engine settles within a few seconds of a burst (redo and page flushes of its last
# commits); the rest of each pause must be silent.
SETTLE=${ACTIVITY_SETTLE_S:-4}
check_quiet "$LINES" "$((B1_FROM - 2))" "$B1_FROM"
check_quiet "$LINES" "$((B1_TO + SETTLE))" "$B2_FROM"
check_quiet "$LINES" "$((B2_TO + SETTLE))" "$END"
B1_BYTES=$(awk -v a="$B1_FROM" -v b="$B1_TO" '$1 >= a && $1 < b { s += $2 } END { print s }' <<<"$LINES")
[ "$B1_BYTES" -gt 100000 ] || die "burst 1 wrote only $B1_BYTES bytes"

log "table and json agree; default window and step"
TABLE=$(rw activity act --from "$(iso "$B1_FROM")" --to "$(iso "$B1_TO")" --step 1s)
echo "$TABLE" | grep -q "^Activity of act from $(iso "$B1_FROM") to $(iso "$B1_TO"), step 1s" ||
  die "table header: $TABLE"
T_BYTES=$(echo "$TABLE" | awk 'NR > 2 { s += $2 } END { print s }')
[ "$T_BYTES" = "$B1_BYTES" ] || die "table says $T_BYTES bytes for burst 1, json $B1_BYTES"
DEFAULT=$(rw activity act --format json)
N=$(python3 -c 'import json, sys; print(len(json.load(sys.stdin)))' <<<"$DEFAULT")
[ "$N" -ge 1 ] && [ "$N" -le 150 ] || die "the default answer has $N points"
rw activity act --from "$(iso "$((B1_FROM - 4))")" --step 10s | grep -q "step 10s" || die "--step 10s"

log "the raw API (SigV4 by curl)"
KEY=$(awk -F' *= *' '/aws_access_key_id/ { print $2; exit }' "$DATA/credentials")
SECRET=$(awk -F' *= *' '/aws_secret_access_key/ { print $2; exit }' "$DATA/credentials")
XML=$(curl -sS --fail-with-body --aws-sigv4 "aws:amz:us-east-1:rds" --user "$KEY:$SECRET" \
  "http://127.0.0.1:$API_PORT/" -d Action=DescribeDBClusterActivity -d Version=2014-10-31 \
  -d DBClusterIdentifier=act -d "StartTime=$(iso "$B1_FROM")" -d "EndTime=$(iso "$B1_TO")" -d Step=1)
echo "$XML" | grep -q "<Step>1</Step>" || die "DescribeDBClusterActivity: $XML"
[ "$(echo "$XML" | grep -o "<Point>" | wc -l)" = 3 ] || die "DescribeDBClusterActivity points: $XML"
UNSIGNED=$(curl -sS "http://127.0.0.1:$API_PORT/" -d Action=DescribeDBClusterActivity \
  -d Version=2014-10-31 -d DBClusterIdentifier=act) || true
echo "$UNSIGNED" | grep -q "<Code>" || die "an unsigned call was answered: $UNSIGNED"
echo "$UNSIGNED" | grep -q "<Point>" && die "an unsigned call got the activity"

log "backtrack into the second pause, then a third burst"
rw backtrack act --to "$(iso "$((B2_TO + SETTLE + 1))")" >/dev/null
sleep 1
sql act "SELECT 1" >/dev/null
PORT=$(cluster_field act Port)
sleep 3
burst 3; B3_FROM=$B_FROM; B3_TO=$B_TO
sleep 2
NOW=$(date +%s)
LINES=$(activity_lines "$((B1_FROM - 4))" "$NOW")
# Burst 2 was recorded by the timeline that was the head then: it stays where it happened.
check_burst "$LINES" "$B1_FROM" "$B1_TO"
check_burst "$LINES" "$B2_FROM" "$B2_TO"
check_burst "$LINES" "$B3_FROM" "$B3_TO"
check_quiet "$LINES" "$((B1_TO + SETTLE))" "$B2_FROM"
[ "$(sql act "SELECT COUNT(*) FROM t WHERE id > 0")" -gt 0 ] || die "no rows after the backtrack"

log "after a restart of rewindd the same counts (checkpoint and log tail)"
BEFORE=$(activity_lines "$((B1_FROM - 4))" "$B3_TO")
e2e_stop TERM
e2e_start
AFTER=$(activity_lines "$((B1_FROM - 4))" "$B3_TO")
[ "$BEFORE" = "$AFTER" ] || die "activity changed across a restart: $(diff <(echo "$BEFORE") <(echo "$AFTER"))"

log "rewind history: sparkline, backtrack mark"
HIST=$(rw history act)
echo "$HIST" | sed 's/^/    /'
echo "$HIST" | sed -n 2p | grep -q "█" || die "rewind history: no sparkline: $HIST"
echo "$HIST" | sed -n 3p | grep -q "B" || die "rewind history: no backtrack mark: $HIST"
echo "$HIST" | grep -qE '^ +[0-9a-f-]{36} +completed' || die "rewind history: no backtrack listed"

log "bad inputs"
expect_fail() {  # expect_fail PATTERN rewind-args...
  local pattern=$1; shift
  local out rc=0
  out=$(rw "$@" 2>&1) || rc=$?
  [ $rc -ne 0 ] || die "rewind $* succeeded: $out"
  echo "$out" | grep -q -- "$pattern" || die "rewind $*: expected '$pattern', got: $out"
  log "refused as expected: $out"
}
expect_fail DBClusterNotFoundFault activity nosuch
expect_fail "InvalidParameterValue: StartTime is before the earliest" activity act --from 2001-01-01T00:00:00Z
expect_fail "InvalidParameterValue: EndTime is in the future" activity act --to 2099-01-01T00:00:00Z
expect_fail "EndTime is before the earliest" activity act --to 2001-01-01T00:00:00Z
expect_fail "EndTime is before StartTime" activity act --from "$(iso "$B1_TO")" --to "$(iso "$B1_FROM")"
expect_fail "is not a step" activity act --step 1.5s
expect_fail "is not a step" activity act --step 0
expect_fail "--from" activity act --from yesterdayish
expect_fail "--format must be table or json" activity act --format xml
log "PASS"
