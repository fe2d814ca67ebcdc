#!/usr/bin/env bash
# What the object store costs and what it guarantees (issue 18), through a real rewindd, the aws
# CLI, mysql and sysbench against a real Ceph RGW on this machine:
#
#   bash bench/objstore_bench.sh [--rows N] [--time S] [--threads T] [--rounds R]
#
# Defaults: 1000000 rows, 60 s, 4 threads, 3 rounds. Ceph: REWIND_S3_ENV's if set, else one
# started and stopped by PID at exit (bench/lib/objstore.sh). Every run is a fresh rewindd on an
# empty data dir, one cluster and its writer, `sysbench prepare` of N rows, then:
#   tps      R rounds of one pair side by side, rewindd with --object-store (on) and without
#            (off), same flags otherwise; the order alternates (on-off, off-on, ...). Before the
#            load, on waits until the prepare is uploaded, and both then stay idle as long
#            (at least 10 s), so each starts from the same state. Then sysbench oltp_write_only,
#            T threads, S s. Per pair TPS on / off. On: /metrics every second during the load
#            (rewind_objstore_upload_lag_seconds, the RPO if the machine were lost then), bytes
#            uploaded during the load (rate) and until the shipper caught up after it (per
#            transaction), log bytes written; both: rewindd's and Ceph's CPU seconds.
#   rpo      on, the same load plus one client inserting the clock (epoch µs) one row at a
#            time on one connection and noting each acknowledged one; at S/2 (at least 5 s)
#            the machine is lost (kill -9 of rewindd, its engine killed, the data dir deleted).
#            RPO = newest acknowledged ts - newest restored ts; rows acknowledged but not
#            restored counted, and any hole (an acknowledged row older than the newest restored
#            one, missing).
#   restore  right after: `rewindd --restore` into the new (empty) data dir, timed from its
#            start until the cluster's endpoint answers SELECT COUNT(*) FROM sbtest1 = N; the
#            part until rewindd logs "restored store" (the download) is shown apart.
# Prints Markdown tables for docs/benchmarks.md with the host's CPU, load and the date. Needs a
# built tree (BUILD_DIR or build/), root (FUSE), sysbench, mysql, the aws CLI, the ceph packages.
usage() {
  echo "usage: bash bench/objstore_bench.sh [--rows N] [--time S] [--threads T] [--rounds R]" >&2
  echo "  --rows N     rows of sysbench's sbtest1 (default 1000000)" >&2
  echo "  --time S     seconds of oltp_write_only per run (default 60)" >&2
  echo "  --threads T  sysbench threads (default 4)" >&2
  echo "  --rounds R   pairs of runs, object store on and off (default 3)" >&2
}
ROWS=1000000
TIME=60
THREADS=4
ROUNDS=3
source "$(dirname "$0")/lib/flags.sh"
bench_int_flags objstore_bench "--rows=ROWS --time=TIME --threads=THREADS --rounds=ROUNDS" "$@"
bench_need objstore_bench sysbench mysql curl /usr/bin/aws
source "$(dirname "$0")/../tests/e2e/lib.sh"
MASTER_PASSWORD="Bench-obj-$RANDOM"
source "$(dirname "$0")/lib/objstore.sh"
C=ob  # every run's cluster; its writer is ob-1
HOST_LINE="$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo), $(nproc) cores"
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
DATE_START=$(date -u '+%Y-%m-%d %H:%M')

now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }'; }
calc() { awk "BEGIN { printf \"$1\", $2 }"; }
# metrics NAME...: the values of those unlabelled samples of /metrics, from one request, on one
# line in the order asked (NA for one rewindd does not export: the object store is off).
metrics() {
  curl -fsS "http://127.0.0.1:$API_PORT/metrics" | awk -v names="$*" '
    BEGIN { n = split(names, want, " ") } { v[$1] = $2 }
    END { for (i = 1; i <= n; i++) printf "%s%s", (i > 1 ? " " : ""), (want[i] in v ? v[want[i]] : "NA"); print "" }'
}
# cpu_s PID...: user + system CPU seconds the processes have used (all their threads).
cpu_s() {
  local hz t=0 p; hz=$(getconf CLK_TCK)
  for p in "$@"; do
    t=$(awk -v t="$t" -v hz="$hz" '{ sub(/^.*\) /, ""); split($0, f, " "); print t + (f[12] + f[13]) / hz }' \
      "/proc/$p/stat" 2>/dev/null || echo "$t")
  done
  echo "$t"
}
# The fixture's OSD and radosgw (what serves the uploads), read from its pid files.
ceph_pids() { cat "$CEPH_HANDLE/ceph-osd.pid" "$CEPH_HANDLE/radosgw.pid" 2>/dev/null || true; }
# stats FMT V...: "min / median / max" of the values, each printed with FMT.
stats() {
  local f=$1; shift
  printf '%s\n' "$@" | sort -g | awk -v f="$f" '{ v[NR] = $1 } END {
    m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
    printf f " / " f " / " f, v[1], m, v[NR] }'
}
# p50_max V...: "p50 max" (nearest rank), 2 decimals; "NA NA" without values.
p50_max() {
  [ $# -gt 0 ] || { echo "NA NA"; return; }
  printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { printf "%.2f %.2f\n", v[int((NR + 1) / 2)], v[NR] }'
}
# csql "statements": at the cluster's endpoint (HOST:PORT of its first start), no API call.
csql() {
  mysql -h "$HOST" -P "$PORT" -u masteruser -p"$MASTER_PASSWORD" -N -B --connect-timeout=2 \
    mylab -e "$1" 2>/dev/null
}

# fresh MODE PREFIX: a new rewindd (on: --object-store s3://BUCKET/PREFIX) on an empty data dir
# with new ports, its cluster and writer, sysbench's N rows; sets HOST, PORT.
fresh() {
  REWINDD_ARGS=""
  [ "$1" = off ] || REWINDD_ARGS="--object-store s3://$S3_BUCKET/$2 --s3-endpoint $S3_ENDPOINT"
  rm -rf "$E2E_DIR/data"
  # shellcheck disable=SC2034 # e2e_start's ports: empty, new ones
  API_PORT="" FIRST_PORT=""
  e2e_start
  create_cluster_with_writer "$C" 86400
  HOST=$(cluster_field "$C" Endpoint); PORT=$(cluster_field "$C" Port)
  local t0; t0=$(now)
  sysbench_prepare "$C"
  log "$1: prepare of $ROWS rows in $(since "$t0") s"
}
# wait_caught_up LIMIT_S: until every durable log byte is in the bucket (lag bytes 0 twice, 0.5 s
# apart: between two tail uploads a lone 0 can come while the engine still flushes).
wait_caught_up() {
  local t0 zeros=0; t0=$(now)
  while [ "$zeros" -lt 2 ]; do
    if [ "$(metric rewind_objstore_upload_lag_bytes)" = 0 ]; then zeros=$((zeros + 1)); else zeros=0; fi
    awk -v s="$(since "$t0")" -v l="$1" 'BEGIN { exit !(s > l) }' &&
      die "uploads did not catch up in $1 s (lag $(metric rewind_objstore_upload_lag_bytes) bytes)"
    sleep 0.5
  done
}
sysbench_wait() {  # the timed load ended: its status and output, then forget its PID
  wait "$SB" || die "sysbench failed: $(tail -n 5 "$E2E_DIR/sysbench.out")"
  e2e_bg_reaped "$SB"
  ! grep -q FATAL "$E2E_DIR/sysbench.out" ||
    die "sysbench failed: $(grep -m 3 FATAL "$E2E_DIR/sysbench.out")"
}

SETTLE=10  # idle seconds between prepare and load: the last on run's catch-up, at least 10
RUNS=()    # "round mode tps tx log_B up_run_B up_all_B run_s lag_p50 lag_max drain_s rewindd_cpu ceph_cpu"
ALL_LAGS=()
# tps_run MODE ROUND
tps_run() {
  local mode=$1 round=$2 prefix="bench-objstore-$$-$2-$1" t_prep idle lags=() up0 log0 up1 log1
  local up2=0 rw0 rw1 ceph0 ceph1 t0 run_s tx tps drain=0
  fresh "$mode" "$prefix"
  t_prep=$(now)
  if [ "$mode" = on ]; then
    wait_caught_up 1800
    SETTLE=$(awk -v s="$(since "$t_prep")" 'BEGIN { print (s > 10) ? s : 10 }')
    log "on: the prepare uploaded after $(since "$t_prep") s"
  fi
  idle=$(awk -v s="$SETTLE" -v e="$(since "$t_prep")" 'BEGIN { print (s > e) ? s - e : 0 }')
  sleep "$idle"
  sysbench_load "$C" "$THREADS" "$TIME"  # the figures start as it does (it asks the API first)
  read -r up0 log0 <<<"$(metrics rewind_objstore_uploaded_bytes_total rewind_store_write_stored_bytes_total)"
  rw0=$(cpu_s "$REWINDD_PID")
  # shellcheck disable=SC2046 # ceph_pids: one pid a word
  ceph0=$(cpu_s $(ceph_pids))
  t0=$(now)
  while [ -d "/proc/$SB" ]; do
    sleep 1
    [ "$mode" = off ] || [ ! -d "/proc/$SB" ] || lags+=("$(metric rewind_objstore_upload_lag_seconds)")
  done
  sysbench_wait
  run_s=$(since "$t0")
  read -r up1 log1 <<<"$(metrics rewind_objstore_uploaded_bytes_total rewind_store_write_stored_bytes_total)"
  rw1=$(cpu_s "$REWINDD_PID")
  # shellcheck disable=SC2046 # ceph_pids: one pid a word
  ceph1=$(cpu_s $(ceph_pids))
  tx=$(awk '$1 == "transactions:" { print $2 }' "$E2E_DIR/sysbench.out")
  tps=$(awk '$1 == "transactions:" { gsub(/\(/, "", $3); print $3 }' "$E2E_DIR/sysbench.out")
  if [ -z "$tx" ] || [ "$tx" -le 0 ]; then
    die "no transactions in sysbench's output: $(tail -n 5 "$E2E_DIR/sysbench.out")"
  fi
  if [ "$mode" = on ]; then
    t0=$(now); wait_caught_up 1800; drain=$(since "$t0")
    up2=$(metric rewind_objstore_uploaded_bytes_total)
    ALL_LAGS+=("${lags[@]}")
    RUNS+=("$round on $tps $tx $((log1 - log0)) $(calc %.0f "$up1 - $up0") $(calc %.0f "$up2 - $up0") \
$run_s $(p50_max "${lags[@]}") $drain \
$(calc %.1f "$rw1 - $rw0") $(calc %.1f "$ceph1 - $ceph0")")
  else
    RUNS+=("$round off $tps $tx $((log1 - log0)) NA NA $run_s NA NA NA $(calc %.1f "$rw1 - $rw0") $(calc %.1f "$ceph1 - $ceph0")")
  fi
  log "round $round, $mode: ${RUNS[-1]}"
  e2e_stop TERM
  [ "$mode" = off ] || bench_s3_rm "$prefix"
}

for round in $(seq 1 "$ROUNDS"); do
  if [ $((round % 2)) = 1 ]; then tps_run on "$round"; tps_run off "$round"
  else tps_run off "$round"; tps_run on "$round"; fi
done

# The TPS pairs' tables now: what follows may fail.
{
  RATIOS=(); UP_TX=(); UP_RATE=(); AMP=()
  echo
  echo "Object store on vs off: $ROWS rows, oltp_write_only $THREADS threads $TIME s, $ROUNDS pairs"
  echo "host: $HOST_LINE; load $LOAD_START at the start, $(cut -d' ' -f1-3 /proc/loadavg) at the end;" \
    "$DATE_START–$(date -u '+%H:%M') UTC"
  echo
  echo "| round | object store | TPS | transactions | log MB written | MB uploaded (load / until caught up) | upload B per tx | upload MB/s during the load | lag p50 / max s | catch-up after s | rewindd CPU s | Ceph CPU s |"
  echo "|---|---|---|---|---|---|---|---|---|---|---|---|"
  declare -A TPS_OF=()
  for line in "${RUNS[@]}"; do
    read -r round mode tps tx logb upr upa runs lp lm drain rw ceph <<<"$line"
    TPS_OF[$round-$mode]=$tps
    if [ "$mode" = on ]; then
      UP_TX+=("$(calc %.0f "$upa / $tx")"); UP_RATE+=("$(calc %.2f "$upr / $runs / 1e6")")
      AMP+=("$(calc %.2f "$upa / $logb")")
      printf '| %s | on | %s | %s | %.0f | %.0f / %.0f | %s | %s | %s / %s | %s | %s | %s |\n' "$round" "$tps" "$tx" \
        "$(calc %f "$logb / 1e6")" "$(calc %f "$upr / 1e6")" "$(calc %f "$upa / 1e6")" "${UP_TX[-1]}" \
        "${UP_RATE[-1]}" "$lp" "$lm" "$drain" "$rw" "$ceph"
    else
      printf '| %s | off | %s | %s | %.0f | — | — | — | — | — | %s | %s |\n' "$round" "$tps" "$tx" \
        "$(calc %f "$logb / 1e6")" "$rw" "$ceph"
    fi
  done
  for round in $(seq 1 "$ROUNDS"); do
    RATIOS+=("$(calc %.3f "${TPS_OF[$round-on]} / ${TPS_OF[$round-off]}")")
  done
  echo
  echo "| measure | figure | goal |"
  echo "|---|---|---|"
  echo "| TPS on / off per pair (min / median / max of $ROUNDS) | $(stats %.2f "${RATIOS[@]}")× | ≥ 0.95× |"
  echo "| upload bytes per transaction, until caught up (min / median / max) | $(stats %.0f "${UP_TX[@]}") | |"
  echo "| bytes uploaded / log bytes written (min / median / max) | $(stats %.2f "${AMP[@]}") | |"
  echo "| sustained upload rate during the load, MB/s (min / median / max) | $(stats %.2f "${UP_RATE[@]}") | |"
  echo "| rewind_objstore_upload_lag_seconds each second under load, p50 / max (${#ALL_LAGS[@]} samples) | $(p50_max "${ALL_LAGS[@]}" | sed 's| | / |') s | |"
}

# RPO under load, then the restore.
ACKED="$E2E_DIR/acked"
: > "$ACKED"
fresh on "bench-objstore-$$-rpo"
csql "CREATE TABLE rpo (ts DECIMAL(16,6) PRIMARY KEY)" || die "creating the rpo table failed"
wait_caught_up 1800
# One client, one connection: autocommit inserts of the server's clock (epoch µs, the key), one
# after the other; mysql prints each one's value once its INSERT returned (acknowledged), and
# stops at the first error (the machine lost).
exec {GEN}< <(yes 'SET @t = UNIX_TIMESTAMP(NOW(6)); INSERT INTO rpo VALUES (@t); SELECT @t;')
GEN_PID=$!
E2E_BG_PIDS+=("$GEN_PID")
mysql -h "$HOST" -P "$PORT" -u masteruser -p"$MASTER_PASSWORD" -N -B -n mylab <&"$GEN" \
  >"$ACKED" 2>"$E2E_DIR/acked.err" &
WRITER=$!
E2E_BG_PIDS+=("$WRITER")
exec {GEN}<&-
sysbench_load "$C" "$THREADS" "$TIME"
KILL_AT=$(( TIME / 2 > 5 ? TIME / 2 : 5 ))
sleep "$KILL_AT"
[ -d "/proc/$WRITER" ] || die "the acknowledged-rows client stopped before the loss: $(cat "$E2E_DIR/acked.err")"
[ -d "/proc/$SB" ] || die "sysbench stopped before the loss: $(tail -n 5 "$E2E_DIR/sysbench.out")"
LAG_AT_KILL=$(calc %.2f "$(metric rewind_objstore_upload_lag_seconds)")
lose_machine
for p in "$WRITER" "$GEN_PID" "$SB"; do kill -KILL "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; e2e_bg_reaped "$p"; done
N_ACKED=$(wc -l < "$ACKED")
[ "$N_ACKED" -gt 0 ] || die "no row was acknowledged before the loss"
NEWEST_ACKED=$(tail -n 1 "$ACKED")
log "machine lost ${KILL_AT} s into the load: $N_ACKED rows acknowledged, the lag metric said ${LAG_AT_KILL} s"

REWINDD_ARGS="$REWINDD_ARGS --restore"
T0=$(now); T_DL=""; T_SERVE=""
E2E_NO_WAIT=1 e2e_start
# restore_line: what this rewindd logged of its restore (read whole: no early exit in a pipe).
restore_line() {
  tail -c +"$((E2E_LOG_START + 1))" "$E2E_DIR/rewindd.log" | awk '/restored store/ && !n { print; n = 1 }'
}
for _ in $(seq 1 9000); do
  [ -n "$T_DL" ] || [ -z "$(restore_line)" ] || T_DL=$(since "$T0")
  # Serving: the writer says available and answers (an answer alone can come from an engine
  # start that rewindd's provisioning then restarts).
  if [ "$(rds_query DescribeDBInstances DBInstanceIdentifier="$C-1" 2>/dev/null |
          xml_values DBInstanceStatus)" = available ] &&
     [ "$(csql "SELECT COUNT(*) FROM sbtest1")" = "$ROWS" ]; then
    T_SERVE=$(since "$T0"); break
  fi
  [ -d "/proc/$REWINDD_PID" ] || die "rewindd --restore exited: $(tail -n 3 "$E2E_DIR/rewindd.log")"
  # rewindd retries a writer whose engine does not start: its first failure is the answer.
  if tail -c +"$((E2E_LOG_START + 1))" "$E2E_DIR/rewindd.log" | grep "starting instance $C-1 failed" >/dev/null; then
    die "the restored writer does not start: $(grep -m 5 ERROR "$DATA/run/$C/mariadbd/mariadbd.err")"
  fi
  sleep 0.2
done
[ -n "$T_SERVE" ] || die "the restored cluster does not serve $ROWS rows: $(csql "SELECT COUNT(*) FROM sbtest1")"
RESTORED=$(restore_line | sed -nE 's/.*: ([0-9]+) segment files, ([0-9]+) bytes.*/\1 \2/p')
if [ -z "$RESTORED" ] || [ -z "$T_DL" ]; then die "rewindd did not log its restore: $(restore_line)"; fi
read -r RESTORED_FILES RESTORED_BYTES <<<"$RESTORED"
log "restored: download ${T_DL} s, serving ${T_SERVE} s ($RESTORED_FILES files, $RESTORED_BYTES bytes)"
wait_sql "$C"
csql "SELECT ts FROM rpo" | sort > "$E2E_DIR/present"
NEWEST_RESTORED=$(tail -n 1 "$E2E_DIR/present")
[ -n "$NEWEST_RESTORED" ] || NEWEST_RESTORED=$(head -n 1 "$ACKED")  # none restored: all of it lost
MISSING=$(sort "$ACKED" | comm -23 - "$E2E_DIR/present" | wc -l)
HOLES=$(sort "$ACKED" | comm -23 - "$E2E_DIR/present" |
  awk -v n="$NEWEST_RESTORED" '$1 < n' | wc -l)
RPO_S=$(calc %.2f "$NEWEST_ACKED - $NEWEST_RESTORED")
log "RPO measured: ${RPO_S} s ($MISSING of $N_ACKED acknowledged rows missing, $HOLES holes)"
e2e_stop TERM
bench_s3_rm "bench-objstore-$$-rpo"

{
  echo
  echo "| measure | figure | goal |"
  echo "|---|---|---|"
  echo "| RPO measured: machine lost ${KILL_AT} s into the load, newest acknowledged − newest restored row | ${RPO_S} s ($MISSING of $N_ACKED acknowledged rows missing, $HOLES older ones missing; the lag metric said ${LAG_AT_KILL} s) | |"
  echo "| restore at $ROWS rows: rewindd --restore on a new data dir → SELECT COUNT(*) answers $ROWS | ${T_SERVE} s (download ${T_DL} s: $RESTORED_FILES files, $(calc %.0f "$RESTORED_BYTES / 1e6") MB) | |"
}
log "done"
