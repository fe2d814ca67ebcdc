#!/usr/bin/env bash
# Backtrack to history only in the bucket (cold) vs on the local disk, through a real rewindd,
# the aws CLI and mysql (issue 18: goal cold <= 3x local).
#
#   bash bench/coldtier_bench.sh [--rows N] [--reps N]
#
# Uses the Ceph of REWIND_S3_ENV (an s3.env of tests/objstore/ceph.sh) if set, else starts one
# and stops it at exit (bench/lib/objstore.sh). For each mode (local: --object-store without
# a budget; cold: --local-history-budget 0), a fresh rewindd and cluster: sysbench prepare of N
# rows (default 100000), a one-row marker table m = 1, T = a moment after; then m = 2 and random
# rows (about 12 MiB of log per statement) until the segment holding T is closed (cold: evicted,
# checked by its .cold marker). Each repetition restarts rewindd (an empty block cache, as after
# a new start) and times BacktrackDBCluster to T until m answers 1; sbtest1's CHECKSUM is then
# compared with T's (untimed), and a backtrack to after the changes puts the head back. The
# time includes one aws CLI start (the call); the marker is polled with mysql directly.
# Prints one Markdown table for docs/benchmarks.md. Needs a built tree (BUILD_DIR or build/),
# root (FUSE), sysbench.
source "$(dirname "$0")/../tests/e2e/lib.sh"
MASTER_PASSWORD="Bench-cold-$RANDOM"
ROWS=100000
REPS=3
while [ $# -gt 0 ]; do
  case $1 in
    --rows) ROWS=$2; shift 2 ;;
    --reps) REPS=$2; shift 2 ;;
    *) die "usage: bench/coldtier_bench.sh [--rows N] [--reps N]" ;;
  esac
done

source "$(dirname "$0")/lib/objstore.sh"

active_segment() {
  find "$DATA/store/log" -maxdepth 1 -name '????????.seg' -printf '%f\n' | sort | tail -1 |
    cut -c1-8
}
now_ms() { date +%s%3N; }
median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
table_sum() { sql "$1" "CHECKSUM TABLE sbtest1" | awk '{ print $2 }'; }

# The marker, straight to the cluster's endpoint (sql would ask the API for it: two aws runs).
marker() {
  mysql -h "$HOST" -P "$PORT" -u masteruser -p"$MASTER_PASSWORD" -N -B mylab \
    -e 'SELECT v FROM m' 2>/dev/null
}

# run MODE: sets RESULT to "MODE median_ms min_ms max_ms log_MB gets MB_fetched", the last two
# for the last repetition's timed backtrack.
run() {
  local mode=$1 budget="" mark mark_seg sum_t after times=() t0 t1 i gets0=0 bytes0=0 gets=0 bytes=0
  [ "$mode" = cold ] && budget="--local-history-budget 0"
  REWINDD_ARGS="--object-store s3://$S3_BUCKET/bench-$mode-$$ --s3-endpoint $S3_ENDPOINT $budget"
  rm -rf "$E2E_DIR/data"; API_PORT=""; FIRST_PORT=""
  e2e_start
  create_cluster_with_writer cb 86400
  sysbench_prepare cb
  sql cb "CREATE TABLE m (v INT); INSERT INTO m VALUES (1); CREATE TABLE b (v BLOB)"
  sum_t=$(table_sum cb)
  HOST=$(cluster_field cb Endpoint); PORT=$(cluster_field cb Port)
  sleep 1.5; mark=$(date -u +%Y-%m-%dT%H:%M:%SZ); mark_seg=$(active_segment); sleep 1.5
  sql cb "UPDATE m SET v = 2; UPDATE sbtest1 SET k = k + 1 WHERE id % 10 = 0"
  while [ "$((10#$(active_segment)))" -le "$((10#$mark_seg + 1))" ]; do
    sql cb "SET SESSION max_recursive_iterations = 10000; INSERT INTO b WITH RECURSIVE
            s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < 4096)
            SELECT RANDOM_BYTES(1024) FROM s"
  done
  sleep 1.5; after=$(date -u +%Y-%m-%dT%H:%M:%SZ); sleep 1.5
  if [ "$mode" = cold ]; then
    for _ in $(seq 1 120); do [ -f "$DATA/store/log/$mark_seg.cold" ] && break; sleep 0.5; done
    [ -f "$DATA/store/log/$mark_seg.cold" ] || die "segment $mark_seg was not evicted"
  fi
  for i in $(seq 1 "$REPS"); do
    e2e_stop TERM; e2e_start; wait_instance cb-1
    if [ "$mode" = cold ]; then
      gets0=$(metric rewind_objstore_cold_reads_total); bytes0=$(metric rewind_objstore_cold_read_bytes_total)
    fi
    t0=$(now_ms)
    aws_rds backtrack-db-cluster --db-cluster-identifier cb --backtrack-to "$mark" >/dev/null
    until [ "$(marker)" = 1 ]; do sleep 0.05; done
    t1=$(now_ms)
    times+=("$(( t1 - t0 ))")
    if [ "$mode" = cold ]; then
      gets=$(( $(metric rewind_objstore_cold_reads_total) - gets0 ))
      bytes=$(( $(metric rewind_objstore_cold_read_bytes_total) - bytes0 ))
    fi
    [ "$(table_sum cb)" = "$sum_t" ] || die "$mode: sbtest1 after the backtrack is not T's"
    wait_available cb
    aws_rds backtrack-db-cluster --db-cluster-identifier cb --backtrack-to "$after" >/dev/null
    wait_available cb; wait_instance cb-1
    until [ "$(marker)" = 2 ]; do sleep 0.1; done
  done
  local m lo hi
  m=$(printf '%s\n' "${times[@]}" | median)
  lo=$(printf '%s\n' "${times[@]}" | sort -n | head -1)
  hi=$(printf '%s\n' "${times[@]}" | sort -n | tail -1)
  RESULT="$mode $m $lo $hi $(du -sm "$DATA/store/log" | cut -f1) $gets $(( bytes / 1048576 ))"
  log "$mode: $RESULT"
  e2e_stop TERM
}

run local; LOCAL=$RESULT
run cold; COLD=$RESULT
echo
echo "Backtrack to T with its history on the local disk vs only in the bucket ($ROWS rows," \
     "median of $REPS, each after a restart of rewindd; $(date -u '+%Y-%m-%d %H:%M UTC'))"
echo
echo "| history at T | backtrack s (min–max) | local log MB | ranged GETs (last rep) | MB fetched (last rep) |"
echo "|---|---|---|---|---|"
for line in "$LOCAL" "$COLD"; do
  read -r mode m lo hi mb gets fetched <<<"$line"
  printf '| %s | %.2f (%.2f–%.2f) | %s | %s | %s |\n' "$mode" "$(echo "$m/1000" | bc -l)" \
    "$(echo "$lo/1000" | bc -l)" "$(echo "$hi/1000" | bc -l)" "$mb" "$gets" "$fetched"
done
read -r _ lm _ <<<"$LOCAL"; read -r _ cm _ <<<"$COLD"
echo
echo "cold / local = $(echo "scale=2; $cm / $lm" | bc -l) (goal <= 3)"
