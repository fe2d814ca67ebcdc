#!/usr/bin/env bash
# The backtrack window under a steady write load, through a real rewindd.
#
#   bench/retention_bench.sh [--minutes 20] [--window 120] [--rows 1000000] [--threads 4]
#                            [--compare-minutes 3] [--compress both|off|on] [--out FILE]
#
# 1. Disk use, once per compression mode (--compress both: off, then on, each on a fresh data
#    directory): a cluster with a WINDOW-second backtrack window runs sysbench oltp_write_only
#    for MINUTES; every minute: the store's log on disk (du), the log's bytes, what mariadbd
#    wrote through the mount so far, the history and live bytes (file data, and live as stored
#    in the log), TPS in that minute. Disk use must plateau once the window is full. Bytes of
#    history on disk per byte written at the steady state =
#    (log bytes - live bytes as stored) / (bytes mariadbd wrote during the last window).
# 2. TPS: rewindd restarted on the last part's data with the cleaner effectively off (once an
#    hour), with it on (every 10 s), and (unless --compress off) with it on and compression on,
#    COMPARE-MINUTES of oltp_write_only each, the modes alternated twice.
# Prints Markdown tables for docs/benchmarks.md. Needs a built tree (build/) and root (FUSE).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
MINUTES=20 WINDOW=120 ROWS=1000000 THREADS=4 COMPARE=3 COMPRESS=both OUT=""
while [ $# -gt 0 ]; do
  case $1 in
    --minutes) MINUTES=$2; shift 2 ;;
    --window) WINDOW=$2; shift 2 ;;
    --rows) ROWS=$2; shift 2 ;;
    --threads) THREADS=$2; shift 2 ;;
    --compare-minutes) COMPARE=$2; shift 2 ;;
    --compress) COMPRESS=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    -h|--help) sed -n '2,19p' "$0"; exit 0 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
case $COMPRESS in
  both) MODES="off on" ;;
  off|on) MODES=$COMPRESS ;;
  *) echo "--compress wants both, off or on" >&2; exit 2 ;;
esac
OUT=${OUT:-$PWD/retention-bench-$(date -u +%Y%m%dT%H%M%SZ).md}
export BUILD_DIR=${BUILD_DIR:-$HERE/../build}
source "$HERE/../tests/e2e/lib.sh"
MASTER_PASSWORD="Bench-pass-$RANDOM$RANDOM"

metric() {
  curl -fsS "http://127.0.0.1:$API_PORT/metrics" |
    awk -v n="$1" -v l="${2:-}" '$1 == (l == "" ? n : n "{" l "}") { printf "%.0f\n", $2 }'
}
mib() { awk -v b="$1" 'BEGIN { printf "%.0f", b / 1048576 }'; }
run_load() {  # run_load SECONDS REPORT_INTERVAL > sysbench output
  stdbuf -oL sysbench oltp_write_only --threads="$THREADS" --mysql-host=127.0.0.1 \
    --mysql-port="$(cluster_field bench Port)" --mysql-user=masteruser \
    --mysql-password="$MASTER_PASSWORD" --mysql-db=mylab --tables=1 --table-size="$ROWS" \
    --time="$1" --report-interval="$2" run
}

{
  echo "# retention_bench $(date -u +%FT%TZ)"
  echo "# machine: $(nproc) cores $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(free -g | awk '/Mem:/ {print $2}') GiB, kernel $(uname -r), /tmp on $(df --output=fstype /tmp | tail -n1)"
  echo "# rows $ROWS, threads $THREADS, window $WINDOW s, $MINUTES min of oltp_write_only per compression mode ($MODES)"
} | tee "$OUT"

declare -A RATIO=() LOGB=()
# part1 MODE: a fresh rewindd (compression MODE), cluster, prepare and MINUTES of load.
part1() {
  local mode=$1
  if [ -n "$REWINDD_PID" ]; then
    e2e_stop TERM
    { grep -o " $E2E_DIR/[^ ]*" /proc/mounts || true; } | while read -r m; do fusermount3 -u -z "$m"; done
    rm -rf "$DATA"
  fi
  REWINDD_ARGS="--clean-interval 10000 --compress $mode"
  e2e_start
  create_cluster_with_writer bench "$WINDOW"
  log "compression $mode: prepare $ROWS rows"
  sysbench_prepare bench

  log "part 1, compression $mode: $MINUTES min of writes, window $WINDOW s"
  run_load $((MINUTES * 60)) 60 > "$E2E_DIR/load.txt" &
  LOAD=$!
  E2E_BG_PIDS+=("$LOAD")
  local -a WRITTEN=()
  {
    echo
    echo "Compression **$mode**:"
    echo
    echo "| minute | log on disk MiB (du) | log MiB | written by mariadbd MiB | history MiB | live MiB | live as stored MiB | TPS that minute |"
    echo "|---|---|---|---|---|---|---|---|"
  } | tee -a "$OUT"
  for m in $(seq 1 "$MINUTES"); do
    sleep 60
    du_b=$(du -sb "$DATA/store/log" | cut -f1)
    log_b=$(metric rewind_store_log_bytes)
    w=$(metric rewind_mount_written_bytes_total 'cluster="bench"')
    WRITTEN+=("$w")
    hist=$(metric rewind_history_bytes 'cluster="bench"')
    live=$(metric rewind_live_bytes 'cluster="bench"')
    live_s=$(metric rewind_live_stored_bytes 'cluster="bench"')
    tps=$(grep -E "^\[ $((m * 60))s \]" "$E2E_DIR/load.txt" | sed -E 's/.*tps: ([0-9.]+).*/\1/' || true)
    echo "| $m | $(mib "$du_b") | $(mib "$log_b") | $(mib "$w") | $(mib "$hist") | $(mib "$live") | $(mib "$live_s") | ${tps:-} |" | tee -a "$OUT"
  done
  wait "$LOAD" || true
  E2E_BG_PIDS=()
  local per_window=$(( (WINDOW + 59) / 60 ))
  if [ "${#WRITTEN[@]}" -gt "$per_window" ]; then
    local last=${WRITTEN[-1]}
    local before=${WRITTEN[$(( ${#WRITTEN[@]} - 1 - per_window ))]}
    log_b=$(metric rewind_store_log_bytes)
    live_s=$(metric rewind_live_stored_bytes 'cluster="bench"')
    RATIO[$mode]=$(awk -v l="$log_b" -v v="$live_s" -v a="$last" -v b="$before" \
      'BEGIN { printf "%.2f", (l - v) / (a - b) }')
    LOGB[$mode]=$log_b
    awk -v l="$log_b" -v v="$live_s" -v a="$last" -v b="$before" -v w="$per_window" -v m="$mode" 'BEGIN {
      printf "\nSteady state, compression %s: (log - live as stored) / written in the last %d min = (%.0f - %.0f) / %.0f MiB = %.2f bytes of history per byte written.\n",
        m, w, l / 1048576, v / 1048576, (a - b) / 1048576, (l - v) / (a - b) }' | tee -a "$OUT"
  fi
}
for mode in $MODES; do part1 "$mode"; done
if [ -n "${RATIO[on]:-}" ] && [ -n "${RATIO[off]:-}" ]; then
  awk -v a="${RATIO[on]}" -v b="${RATIO[off]}" -v la="${LOGB[on]}" -v lb="${LOGB[off]}" 'BEGIN {
    printf "\nHistory bytes per byte written: %.2f compressed vs %.2f raw (%.2f×); log %.0f vs %.0f MiB.\n",
      a, b, (b > 0 ? a / b : 0), la / 1048576, lb / 1048576 }' | tee -a "$OUT"
fi

log "part 2: TPS by cleaner and compression, $COMPARE min each, alternated"
declare -A TPS=()
COMPARE_MODES="off on"
[ "$COMPRESS" = off ] || COMPARE_MODES="off on zstd"
for mode in $COMPARE_MODES $COMPARE_MODES; do
  e2e_stop TERM
  case $mode in
    off) REWINDD_ARGS="--clean-interval 3600000 --compress off" ;;
    on) REWINDD_ARGS="--clean-interval 10000 --compress off" ;;
    zstd) REWINDD_ARGS="--clean-interval 10000 --compress on" ;;
  esac
  e2e_start
  wait_instance bench-1
  t=$(run_load $((COMPARE * 60)) 0 | awk '/transactions:/ { gsub(/\(/, "", $3); print $3 }')
  log "   $mode: $t TPS"
  TPS[$mode]="${TPS[$mode]:-} $t"
done
mean() { echo "$@" | awk '{ s = 0; for (i = 1; i <= NF; i++) s += $i; printf "%.0f", s / NF }'; }
off=$(mean ${TPS[off]}) on=$(mean ${TPS[on]})
{
  echo
  echo "| cleaner | compression | TPS (mean of 2 × $COMPARE min) | runs |"
  echo "|---|---|---|---|"
  echo "| off | off | $off | ${TPS[off]} |"
  echo "| on (every 10 s) | off | $on | ${TPS[on]} |"
  if [ -n "${TPS[zstd]:-}" ]; then
    zstd=$(mean ${TPS[zstd]})
    echo "| on (every 10 s) | on | $zstd | ${TPS[zstd]} |"
  fi
  echo
  awk -v a="$on" -v b="$off" 'BEGIN { printf "With the cleaner: %.2f× the TPS without it.\n", a / b }'
  if [ -n "${TPS[zstd]:-}" ]; then
    awk -v a="$zstd" -v b="$off" -v c="$on" 'BEGIN {
      printf "With the cleaner and compression: %.2f× the TPS without either (%.2f× the cleaner alone).\n", a / b, a / c }'
  fi
} | tee -a "$OUT"
log "results in $OUT"
