#!/usr/bin/env bash
# Reader instances, failover and backtrack with readers (issue 16's goals: a reader serving in
# <= 2 s; a backtrack with readers <= 2x one without).
#   BUILD_DIR=build bash bench/readers_bench.sh [--rows N] [--reps N] [--lag-seconds N]
# A real rewindd on a temporary data dir (tests/e2e/lib.sh: 127.0.0.1, free ports, cleanup by PID
# and unmount on every exit path); one cluster with a sysbench table of ROWS rows (default
# 1000000). Every action goes through the real `aws rds` CLI; what is timed ends at the SQL answer
# that matters (mysql), polled every 50 ms:
#   reader      create-db-instance of a reader -> the reader returns the writer's latest row
#               (REPS times, the reader deleted between reps);
#   lag         `sysbench oltp_write_only --threads=4` for LAG_SECONDS (default 60) on the writer;
#               every second the reader's lag read on the reader (a heartbeat row, see below)
#               and rewind_replica_lag_seconds (Seconds_Behind_Master) from /metrics;
#   backtrack   backtrack-db-cluster to T -> the writer and every reader return sbtest1's
#               CHECKSUM taken at T; with 0, 1 and 2 readers side by side in each rep, the order
#               alternating across reps;
#   failover    failover-db-cluster -> the cluster endpoint takes a write on the promoted reader
#               and the old writer (now a reader) returns it.
# Each timed span starts before the `aws` command, so it includes the CLI's own start; the run
# prints that cost (a describe call) for reference. Run it on a quiet machine (never while
# building); it prints a markdown table with the host's CPU, core count and date.
usage() {
  echo "usage: bash bench/readers_bench.sh [--rows N] [--reps N] [--lag-seconds N]" >&2
  echo "  --rows N         rows of sysbench's sbtest1 (default 1000000)" >&2
  echo "  --reps N         repetitions of the reader, backtrack and failover timings (default 3)" >&2
  echo "  --lag-seconds N  seconds of oltp_write_only load while sampling replica lag (default 60)" >&2
}
ROWS=1000000
REPS=3
LAG_SECONDS=60
source "$(dirname "$0")/lib/flags.sh"
bench_int_flags readers_bench "--rows=ROWS --reps=REPS --lag-seconds=LAG_SECONDS" "$@"
bench_need readers_bench sysbench mysql curl /usr/bin/aws
BUILD_DIR=${BUILD_DIR:-$(cd "$(dirname "$0")/../build" && pwd)}
source "$(dirname "$0")/../tests/e2e/lib.sh"
MASTER_PASSWORD="Bench-pass-$RANDOM"
C=rb  # the cluster; its writer is rb-1, readers rb-r1, rb-r2

now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.3f", b - a }'; }

# inst_endpoint ID → "HOST PORT" of an instance (empty until it has one); polled with curl.
inst_endpoint() {
  local x; x=$(rds_query DescribeDBInstances DBInstanceIdentifier="$1" 2>/dev/null) || return 0
  grep -q '<DescribeDBInstancesResponse' <<<"$x" || return 0
  echo "$(xml_values Address <<<"$x" | head -n 1) $(xml_values Port <<<"$x" | head -n 1)"
}
# isql ID "statements": as the master user at an instance's own endpoint (fails while it has none).
isql() {
  local ep; ep=$(inst_endpoint "$1")
  [ -n "${ep// /}" ] || return 1
  mysql -h "${ep% *}" -P "${ep#* }" -u masteruser -p"$MASTER_PASSWORD" -N -B \
    --connect-timeout=2 mylab -e "$2" 2>/dev/null
}
# csql "statements": at the cluster endpoint (Endpoint:Port), read once.
csql() {
  mysql -h "$CHOST" -P "$CPORT" -u masteruser -p"$MASTER_PASSWORD" -N -B --connect-timeout=2 \
    mylab -e "$1" 2>/dev/null
}
marker() { isql "$1" "SELECT v FROM bench_marker WHERE id = 1"; }
# wait_marker ID VALUE [LIMIT_S]: until instance ID returns VALUE as the marker (dies after LIMIT_S).
wait_marker() {
  local t0; t0=$(now)
  until [ "$(marker "$1")" = "$2" ]; do
    awk -v a="$t0" -v b="$(now)" -v l="${3:-600}" 'BEGIN { exit !(b - a > l) }' &&
      die "$1 does not return marker $2 after ${3:-600} s (has '$(marker "$1")')"
    sleep 0.05
  done
}
add_reader() {
  aws_rds create-db-instance --db-instance-identifier "$1" --db-cluster-identifier "$C" \
    --engine aurora-mysql --db-instance-class db.r5.large >/dev/null
}
drop_reader() {
  aws_rds delete-db-instance --db-instance-identifier "$1" >/dev/null
  wait_instance_gone "$1"
}
# stats V...: "min / median / max" (3 decimals); stats_p95 adds p95 before max.
stats() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END {
  printf "%.3f / %.3f / %.3f", v[1], (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2), v[NR] }'; }
stats_p95() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END {
  p = int(0.95 * NR + 0.999); if (p < 1) p = 1
  printf "%.2f / %.2f / %.2f / %.2f", v[1], (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2), v[p], v[NR] }'; }
NONCE=0
set_marker() { NONCE=$((NONCE + 1)); csql "REPLACE INTO bench_marker VALUES (1, $NONCE)"; }

e2e_start
create_cluster_with_writer "$C" 86400
wait_sql "$C"
CHOST=$(cluster_field "$C" Endpoint); CPORT=$(cluster_field "$C" Port)
t0=$(now); sysbench_prepare "$C"
log "prepare of $ROWS rows: $(since "$t0") s"
csql "CREATE TABLE bench_marker (id INT PRIMARY KEY, v BIGINT NOT NULL)" || die "marker table"
set_marker
t0=$(now); aws_rds describe-db-clusters --db-cluster-identifier "$C" >/dev/null; CLI_S=$(since "$t0")
log "one aws CLI call (describe-db-clusters): $CLI_S s"

# 1. Reader provisioning.
PROV=()
for rep in $(seq 1 "$REPS"); do
  set_marker
  t0=$(now)
  add_reader "$C-r1"
  wait_marker "$C-r1" "$NONCE"
  PROV+=("$(since "$t0")")
  log "reader serving the writer's latest row: ${PROV[-1]} s"
  wait_instance "$C-r1"
  [ "$rep" = "$REPS" ] || drop_reader "$C-r1"
done

# 2. Replica lag under oltp_write_only --threads=4 (the last reader of step 1 stays). The master
# user may not run SHOW SLAVE STATUS (MariaDB wants SLAVE MONITOR, which Aurora's master privileges
# do not map to), so the reader's own figure is a heartbeat: one mysql client on the writer stores
# NOW(6) every 0.2 s; the reader's lag is its NOW(6) minus the newest heartbeat it has applied
# (same host clock; up to 0.2 s of it is the heartbeat's period). Seconds_Behind_Master itself is
# what rewindd exports as rewind_replica_lag_seconds (it reads it as root).
csql "CREATE TABLE bench_heartbeat (id INT PRIMARY KEY, ts DATETIME(6) NOT NULL)" || die "heartbeat table"
HB=(); METRIC=(); HB_MISSING=0; METRIC_ABSENT=0
while :; do echo "REPLACE INTO bench_heartbeat VALUES (1, NOW(6));"; sleep 0.2; done |
  mysql -h "$CHOST" -P "$CPORT" -u masteruser -p"$MASTER_PASSWORD" mylab 2>"$E2E_DIR/heartbeat.err" &
HEART_PID=$!
E2E_BG_PIDS+=("$HEART_PID")
sysbench oltp_write_only --threads=4 --time="$LAG_SECONDS" --mysql-host="$CHOST" \
  --mysql-port="$CPORT" --mysql-user=masteruser --mysql-password="$MASTER_PASSWORD" \
  --mysql-db=mylab --tables=1 --table-size="$ROWS" --report-interval=0 run \
  >"$E2E_DIR/sysbench_lag.txt" 2>&1 &
LOAD_PID=$!
E2E_BG_PIDS+=("$LOAD_PID")
next=$(date +%s)
while [ -d "/proc/$LOAD_PID" ]; do
  h=$(isql "$C-r1" "SELECT TIMESTAMPDIFF(MICROSECOND, ts, NOW(6)) / 1e6 FROM bench_heartbeat") || h=""
  if [[ $h =~ ^-?[0-9.]+$ ]]; then HB+=("$h"); else HB_MISSING=$((HB_MISSING + 1)); fi
  m=$(curl -fsS --max-time 2 "http://127.0.0.1:$API_PORT/metrics" |
      awk -v k="rewind_replica_lag_seconds{cluster=\"$C\",instance=\"$C-r1\"}" '$1 == k { print $2 }') || m=""
  if [[ $m =~ ^[0-9.]+$ ]]; then METRIC+=("$m"); else METRIC_ABSENT=$((METRIC_ABSENT + 1)); fi
  next=$((next + 1))
  sleep "$(awk -v n="$next" -v t="$(now)" 'BEGIN { d = n - t; if (d < 0) d = 0; printf "%.3f", d }')"
done
wait "$LOAD_PID" || die "sysbench oltp_write_only failed: $(tail -n 5 "$E2E_DIR/sysbench_lag.txt")"
[ -d "/proc/$HEART_PID" ] || die "the heartbeat client stopped: $(cat "$E2E_DIR/heartbeat.err")"
kill "$HEART_PID"; wait "$HEART_PID" 2>/dev/null || true
TPS=$(awk '/transactions:/ { gsub(/[(]/, "", $3); print $3 }' "$E2E_DIR/sysbench_lag.txt")
[ ${#HB[@]} -gt 0 ] || die "no heartbeat lag sample from $C-r1"
[ ${#METRIC[@]} -gt 0 ] || die "no rewind_replica_lag_seconds sample for $C-r1"
log "lag: ${#HB[@]} heartbeat samples ($HB_MISSING missing), ${#METRIC[@]} /metrics samples ($METRIC_ABSENT absent), $TPS tps"
set_marker
wait_marker "$C-r1" "$NONCE" 600  # the reader has caught up before the backtracks

# 3. Backtrack with 0, 1 and 2 readers.
declare -A BT=([0]="" [1]="" [2]="")
readers_now=1
set_readers() {  # set_readers N: exactly N readers (rb-r1, rb-r2), each caught up
  local n=$1 i
  for i in 1 2; do
    if [ "$i" -le "$n" ] && [ "$i" -gt "$readers_now" ]; then add_reader "$C-r$i"; fi
    if [ "$i" -gt "$n" ] && [ "$i" -le "$readers_now" ]; then drop_reader "$C-r$i"; fi
  done
  readers_now=$n
  set_marker
  for i in $(seq 1 "$n"); do wait_instance "$C-r$i"; wait_marker "$C-r$i" "$NONCE"; done
}
# serves_asof ID: instance ID shows the marker and then the checksum taken at T.
serves_asof() {
  [ "$(marker "$1")" = "$T_MARK" ] && [ "$(isql "$1" "CHECKSUM TABLE sbtest1" | awk '{ print $2 }')" = "$T_SUM" ]
}
for rep in $(seq 1 "$REPS"); do
  if [ $((rep % 2)) = 1 ]; then order=(0 1 2); else order=(2 1 0); fi
  for n in "${order[@]}"; do
    set_readers "$n"
    sleep 1.2; T=$(date +%s); T_MARK=$NONCE
    T_SUM=$(csql "CHECKSUM TABLE sbtest1" | awk '{ print $2 }')
    sleep 1.2
    [ "$(date +%s)" -gt "$T" ] || die "the clock did not move past T"
    csql "UPDATE sbtest1 SET k = k + 1 WHERE id <= 1000" || die "update before backtrack"
    set_marker
    [ "$(csql "CHECKSUM TABLE sbtest1" | awk '{ print $2 }')" != "$T_SUM" ] || die "the update did not change sbtest1"
    insts=("$C-1"); for i in $(seq 1 "$n"); do insts+=("$C-r$i"); wait_marker "$C-r$i" "$NONCE"; done
    t0=$(now)
    aws_rds backtrack-db-cluster --db-cluster-identifier "$C" \
      --backtrack-to "$(date -u -d "@$T" +%Y-%m-%dT%H:%M:%SZ)" >/dev/null
    for id in "${insts[@]}"; do
      limit=$(awk -v a="$(now)" 'BEGIN { printf "%d", a + 600 }')
      until serves_asof "$id"; do
        [ "$(date +%s)" -lt "$limit" ] || die "$id does not serve sbtest1 as of T after 600 s"
        sleep 0.05
      done
    done
    took=$(since "$t0"); BT[$n]+=" $took"
    log "backtrack with $n reader(s): every instance serves as of T after $took s"
    wait_available "$C"
    NONCE=$T_MARK  # the marker is back to its value at T
  done
done

# 4. Failover: one reader; each rep promotes it, so the writer role goes back and forth.
set_readers 1
FO=()
for rep in $(seq 1 "$REPS"); do
  old=$(aws_rds describe-db-clusters --db-cluster-identifier "$C" \
    --query 'DBClusters[0].DBClusterMembers[?IsClusterWriter==`true`].DBInstanceIdentifier' --output text)
  target=$(aws_rds describe-db-clusters --db-cluster-identifier "$C" \
    --query 'DBClusters[0].DBClusterMembers[?IsClusterWriter==`false`].DBInstanceIdentifier' --output text)
  NONCE=$((NONCE + 1))
  t0=$(now)
  aws_rds failover-db-cluster --db-cluster-identifier "$C" --target-db-instance-identifier "$target" >/dev/null
  limit=$(awk -v a="$(now)" 'BEGIN { printf "%d", a + 600 }')
  # The write must land on the new writer, not on the old one (which takes writes until it goes;
  # server_ids move with the roles): a mariadbd started after the call, by its Uptime.
  until csql "SHOW GLOBAL STATUS LIKE 'Uptime'; REPLACE INTO bench_marker VALUES (1, $NONCE)" |
      awk -v a="$t0" -v b="$(now)" '$1 == "Uptime" && $2 + 0 <= b - a { ok = 1 } END { exit !ok }'; do
    [ "$(date +%s)" -lt "$limit" ] || die "the cluster endpoint takes no write on $target after 600 s"
    sleep 0.05
  done
  until [ "$(marker "$old")" = "$NONCE" ] && [ "$(isql "$old" "SELECT @@read_only")" = 1 ]; do
    [ "$(date +%s)" -lt "$limit" ] || die "the old writer $old does not show the write as a reader after 600 s"
    sleep 0.05
  done
  FO+=("$(since "$t0")")
  log "failover $old -> $target: ${FO[-1]} s"
  wait_available "$C"
done

# shellcheck disable=SC2086 # BT[n]: space-separated figures
{
  echo
  echo "Rewind readers bench: $ROWS rows, $REPS reps, lag under load for $LAG_SECONDS s"
  echo "host: $(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg); $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo "one aws CLI call (included in each timed span): $CLI_S s"
  echo
  echo "| measure | figures (s) | goal |"
  echo "|---|---|---|"
  echo "| reader provisioning: create-db-instance → reader returns the writer's latest row (min / median / max) | $(stats "${PROV[@]}") | ≤ 2 s |"
  echo "| replica lag under load, heartbeat read on the reader (min / median / p95 / max; ${#HB[@]} samples, $HB_MISSING missed) | $(stats_p95 "${HB[@]}") | |"
  echo "| replica lag under load, rewind_replica_lag_seconds (Seconds_Behind_Master) in /metrics (min / median / p95 / max; ${#METRIC[@]} samples, $METRIC_ABSENT absent) | $(stats_p95 "${METRIC[@]}") | |"
  echo "| backtrack, 0 readers: backtrack-db-cluster → writer serves as of T (min / median / max) | $(stats ${BT[0]}) | |"
  echo "| backtrack, 1 reader: → writer and reader serve as of T (min / median / max) | $(stats ${BT[1]}) | ≤ 2× 0 readers |"
  echo "| backtrack, 2 readers: → writer and both readers serve as of T (min / median / max) | $(stats ${BT[2]}) | ≤ 2× 0 readers |"
  echo "| failover: failover-db-cluster → cluster endpoint takes a write, old writer shows it (min / median / max) | $(stats "${FO[@]}") | |"
  echo
  echo "oltp_write_only --threads=4 during the lag samples: $TPS tps"
}
log "done"
