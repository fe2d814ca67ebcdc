#!/usr/bin/env bash
# kill -9 under a write load, through the real supervisor: sysbench oltp_write_only (4 threads)
# and a checker client (autocommit inserts 1, 2, 3, …, each recorded once acknowledged) run on a
# cluster of a real rewindd while
#   round 1: the cluster's mariadbd is killed -9; rewindd's engine supervisor must start it
#            again by itself (event "DB instance restarted after an unexpected exit");
#   round 2: rewindd itself is killed -9 (its FUSE mount dies with it; mariadbd is left on a
#            dead mount); rewindd started again must end that orphan, remount and start a new
#            mariadbd.
# After each: the new mariadbd is rewindd's child, InnoDB ran crash recovery, CHECK TABLE is OK,
# sbtest1 has all its rows, the checker's rows are exactly 1..MAX with every acknowledged insert
# (and at most the one in flight more), nothing was acknowledged after the kill, and a write
# after the recovery survives an orderly restart of rewindd.
source "$(dirname "$0")/lib.sh"
ROWS=${ROWS:-100000}
MASTER_PASSWORD="Kill-pass-$RANDOM$RANDOM"

ERR_LOG() { echo "$DATA/run/kt/mariadbd/mariadbd.err"; }
recoveries() { grep -c "Starting crash recovery" "$(ERR_LOG)" 2>/dev/null || true; }
restart_events() {
  aws_rds describe-events --source-identifier kt-1 --source-type db-instance --duration 1440 \
    --query 'Events[].Message' --output text | tr '\t' '\n' |
    grep -c 'restarted after an unexpected exit' || true
}

# round KIND TABLE: one kill of KIND (mariadbd or rewindd) under load; TABLE is the checker's.
round() {
  local kind=$1 table=$2 ack="$E2E_DIR/$2.ack" host port old rec0 ev0 acked a2 new cnt max
  sql kt "CREATE TABLE $table (seq INT PRIMARY KEY)"
  : > "$ack"
  host=$(cluster_field kt Endpoint); port=$(cluster_field kt Port)
  rec0=$(recoveries); ev0=$(restart_events)
  sysbench oltp_write_only --threads=4 --mysql-host="$host" --mysql-port="$port" \
    --mysql-user=masteruser --mysql-password="$MASTER_PASSWORD" --mysql-db=mylab --tables=1 \
    --table-size="$ROWS" --time=60 run >"$E2E_DIR/$table.sysbench" 2>&1 &
  local sb=$!
  (  # the checker: stops at its first failure
    for n in $(seq 1 1000000); do
      mysql --connect-timeout=3 -h "$host" -P "$port" -u masteruser -p"$MASTER_PASSWORD" mylab \
        -e "INSERT INTO $table VALUES ($n)" >/dev/null 2>&1 || exit 0
      echo "$n" >> "$ack"
    done
  ) &
  local checker=$!
  E2E_BG_PIDS+=("$sb" "$checker")
  sleep 8
  [ -d "/proc/$sb" ] || die "sysbench ended early: $(tail -n 5 "$E2E_DIR/$table.sysbench")"
  [ -s "$ack" ] || die "the checker got no acknowledgement"
  old=$(mariadbd_of kt)
  [ -n "$old" ] || die "no mariadbd of kt runs"
  if [ "$kind" = mariadbd ]; then
    kill -KILL "$old"
  else
    e2e_stop KILL
  fi
  sleep 1
  acked=$(wc -l < "$ack")
  log "$kind killed -9; the checker had $acked inserts acknowledged"
  sleep 2
  a2=$(wc -l < "$ack")
  [ "$kind" = mariadbd ] || [ "$a2" = "$acked" ] ||
    die "inserts were acknowledged after rewindd (and its FUSE mount) died: $acked -> $a2"
  kill -KILL "$sb" "$checker" 2>/dev/null || true
  wait "$sb" "$checker" 2>/dev/null || true
  E2E_BG_PIDS=()
  acked=$(wc -l < "$ack")
  [ "$kind" = mariadbd ] || e2e_start  # the supervisor restarts a mariadbd on its own
  wait_sql kt
  assert_restarted_by_rewindd kt "$old"
  new=$(mariadbd_of kt)
  [ "$(recoveries)" -gt "$rec0" ] || die "InnoDB did not run crash recovery"
  if [ "$kind" = mariadbd ]; then
    [ "$(restart_events)" -gt "$ev0" ] || die "no 'restarted after an unexpected exit' event for kt-1"
  fi
  for t in sbtest1 "$table"; do
    sql kt "CHECK TABLE $t" | grep -q "status	OK" || die "CHECK TABLE $t is not OK"
  done
  [ "$(sql kt "SELECT COUNT(*) FROM sbtest1")" = "$ROWS" ] || die "sbtest1 lost rows"
  read -r cnt max <<<"$(sql kt "SELECT COUNT(*), COALESCE(MAX(seq), 0) FROM $table")"
  log "   new mariadbd $new (rewindd's child) recovered: $cnt checker rows, max $max, acknowledged $acked"
  [ "$cnt" = "$max" ] || die "the checker's rows are not 1..$max"
  [ "$max" -ge "$acked" ] || die "acknowledged inserts lost: $acked acknowledged, $max present"
  [ "$max" -le $((acked + 1)) ] || die "more rows ($max) than sent ($acked acknowledged + 1 in flight)"
  sql kt "INSERT INTO $table VALUES ($((max + 1)))"
  e2e_stop TERM
  e2e_start
  wait_sql kt
  [ "$(sql kt "SELECT MAX(seq) FROM $table")" = $((max + 1)) ] || die "the insert after recovery was lost"
}

e2e_start
create_cluster_with_writer kt 3600
sysbench_prepare kt
round mariadbd checker_m
round rewindd checker_r
log "PASS"
