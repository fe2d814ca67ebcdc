#!/usr/bin/env bash
# sysbench through Rewind vs the plain local filesystem, in one run, alternated.
#
#   bench/sysbench_fuse.sh [--time S] [--rows N] [--threads "1 4"] [--rounds R]
#                          [--workloads "oltp_write_only oltp_read_write"]
#                          [--rewind-mount BIN] [--mount-threads N] [--compress on|off (on)]
#                          [--mount-args "ARGS"] [--mariadbd-args "ARGS"] [--dir DIR]
#                          [--engine-user NAME (mysql)]
#
# The same mariadbd (same options: tests/integration/lib.sh mdb_start, 256M buffer pool) runs
# as an unprivileged user over a mount that admits only it and root, as under rewindd (`root`
# gives the set-up before mariadbd left root), once on a plain directory and once on a
# rewind-mount of a fresh store, both on the same filesystem (DIR, default /tmp). Each gets
# `sysbench prepare` (timed); then every (workload, threads) pair runs on plain and on Rewind
# back to back, the order swapped every round.
# Before each run both servers are quiesced (dirty pages flushed), so that one server's
# background flushing does not load the other's run; only one server is under load at a time.
# Prints a markdown table (TPS, ratio, and the CPU seconds the FUSE daemon and mariadbd used
# per 1,000 transactions, and how idle the machine's CPUs were) and keeps raw results in $OUT
# (default bench-results-<date>.txt). BENCH_DURING_RUN="cmd" runs `cmd FS WORKLOAD THREADS
# MARIADBD_PID DAEMON_PID` 5 s into every run (for example bench/offcpu_hook.sh: where
# mariadbd's threads wait).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)

TIME=60 ROWS=1000000 THREADS="1 4" ROUNDS=1 WORKLOADS="oltp_write_only oltp_read_write"
MOUNT_THREADS="" MOUNT_ARGS="" MARIADBD_ARGS="" COMPRESS=on DIR=/tmp OUT="" ENGINE_USER=mysql
REWIND_MOUNT=${REWIND_MOUNT:-}
while [ $# -gt 0 ]; do
  case $1 in
    --time) TIME=$2; shift 2 ;;
    --rows) ROWS=$2; shift 2 ;;
    --threads) THREADS=$2; shift 2 ;;
    --rounds) ROUNDS=$2; shift 2 ;;
    --workloads) WORKLOADS=$2; shift 2 ;;
    --rewind-mount) REWIND_MOUNT=$2; shift 2 ;;
    --mount-threads) MOUNT_THREADS=$2; shift 2 ;;
    --compress) COMPRESS=$2; shift 2 ;;
    --mount-args) MOUNT_ARGS=$2; shift 2 ;;  # more rewind-mount options, e.g. "--eager-sync off"
    --mariadbd-args) MARIADBD_ARGS=$2; shift 2 ;;  # more options for both servers alike
    --dir) DIR=$2; shift 2 ;;
    --engine-user) ENGINE_USER=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    -h|--help) sed -n '2,/^set -euo/{/^set -euo/!p}' "$0"; exit 0 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
if [ -z "$REWIND_MOUNT" ]; then
  for b in "$ROOT/build/src/fs/rewind-mount" "$ROOT"/build*/src/fs/rewind-mount; do
    [ -x "$b" ] && { REWIND_MOUNT=$b; break; }
  done
fi
OUT=${OUT:-$PWD/bench-results-$(date -u +%Y%m%dT%H%M%SZ).txt}
export INT_TMP=$DIR INT_MDB_USER=$ENGINE_USER
ADMIT=()
[ "$ENGINE_USER" = root ] || ADMIT=(--admit-user "$ENGINE_USER")
source "$ROOT/tests/integration/lib.sh"
int_private_ns --time "$TIME" --rows "$ROWS" --threads "$THREADS" --rounds "$ROUNDS" \
  --workloads "$WORKLOADS" --rewind-mount "$REWIND_MOUNT" --dir "$DIR" --out "$OUT" \
  --compress "$COMPRESS" --engine-user "$ENGINE_USER" ${MOUNT_THREADS:+--mount-threads "$MOUNT_THREADS"} \
  ${MOUNT_ARGS:+--mount-args "$MOUNT_ARGS"} ${MARIADBD_ARGS:+--mariadbd-args "$MARIADBD_ARGS"}
int_setup bench

# CPU seconds (user + system) a process has used so far.
cpu_s() {
  awk -v hz="$(getconf CLK_TCK)" '{ print ($14 + $15) / hz }' "/proc/$1/stat" 2>/dev/null || echo 0
}

# Idle and iowait jiffies and the total of all CPUs so far ("idle total").
cpu_idle() { awk '/^cpu / { t = 0; for (i = 2; i <= NF; i++) t += $i; print $5 + $6, t }' /proc/stat; }

# Waits (up to 120 s) until the server has (almost) no dirty pages, then restores the default.
quiesce() {
  sql "$1" "SET GLOBAL innodb_max_dirty_pages_pct_lwm = 0; SET GLOBAL innodb_max_dirty_pages_pct = 0"
  for _ in $(seq 1 240); do
    local d
    d=$(sql "$1" "SHOW GLOBAL STATUS LIKE 'Innodb_buffer_pool_pages_dirty'" | cut -f2)
    [ "$d" -lt 50 ] && break
    sleep 0.5
  done
  sql "$1" "SET GLOBAL innodb_max_dirty_pages_pct = 90; SET GLOBAL innodb_max_dirty_pages_pct_lwm = 0"
}

{
  echo "# sysbench_fuse $(date -u +%FT%TZ)"
  echo "# machine: $(nproc) cores $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(free -g | awk '/Mem:/ {print $2}') GiB, kernel $(uname -r), $DIR on $(df --output=fstype "$DIR" | tail -n1)"
  echo "# mariadbd $("$MARIADBD" --version | awk '{print $3}'), $("$SYSBENCH" --version), rows $ROWS, time $TIME s, rounds $ROUNDS"
  echo "# rewind-mount $REWIND_MOUNT ${MOUNT_THREADS:+--threads $MOUNT_THREADS} --compress $COMPRESS ${ADMIT[*]} $MOUNT_ARGS"
  echo "# mariadbd runs as $ENGINE_USER"
  [ -z "$MARIADBD_ARGS" ] || echo "# mariadbd (both) $MARIADBD_ARGS"
} | tee "$OUT" >&2

PLAIN=$INT_DIR/plain STORE=$INT_DIR/store MNT=$INT_DIR/mnt
mkdir -p "$PLAIN"
daemon_start d "$STORE" "$MNT" --volume bench --create --compress "$COMPRESS" "${ADMIT[@]}" \
  ${MOUNT_THREADS:+--threads "$MOUNT_THREADS"} $MOUNT_ARGS
DPID=${DAEMON_PID[d]}
# shellcheck disable=SC2086 # MARIADBD_ARGS: options, word-split on purpose
mdb_install plain "$PLAIN" "$(free_port)" $MARIADBD_ARGS
# shellcheck disable=SC2086
mdb_install rewind "$MNT" "$(free_port)" $MARIADBD_ARGS

declare -A PREP=()
for fs in plain rewind; do
  quiesce plain
  quiesce rewind
  t=$(date +%s.%N)
  sb "$fs" oltp_read_write prepare --table-size="$ROWS" >"$INT_DIR/prepare-$fs.log"
  PREP[$fs]=$(since "$t")
  log "prepare $ROWS rows on $fs: ${PREP[$fs]} s"
  echo "prepare $fs $ROWS ${PREP[$fs]}" >>"$OUT"
done

declare -A TPS=() DCPU=() MCPU=() IDLE=()
for round in $(seq 1 "$ROUNDS"); do
  if [ $((round % 2)) -eq 1 ]; then order="plain rewind"; else order="rewind plain"; fi
  for wl in $WORKLOADS; do
    for th in $THREADS; do
      for fs in $order; do
        quiesce plain
        quiesce rewind
        d0=$(cpu_s "$DPID") m0=$(cpu_s "${MDB_PID[$fs]}")
        read -r i0 t0 < <(cpu_idle)
        [ -z "${BENCH_DURING_RUN:-}" ] || (sleep 5; $BENCH_DURING_RUN "$fs" "$wl" "$th" "${MDB_PID[$fs]}" "$DPID") &
        sb "$fs" "$wl" run --table-size="$ROWS" --threads="$th" --time="$TIME" \
          >"$INT_DIR/run-$round-$wl-$th-$fs.log" 2>&1 || die "sysbench failed: $(tail -n 5 "$INT_DIR/run-$round-$wl-$th-$fs.log")"
        d1=$(cpu_s "$DPID") m1=$(cpu_s "${MDB_PID[$fs]}")
        read -r i1 t1 < <(cpu_idle)
        idle=$(echo "($i1 - $i0) * 100 / ($t1 - $t0)" | bc -l)
        tx=$(awk '/transactions:/ { print $2 }' "$INT_DIR/run-$round-$wl-$th-$fs.log")
        tps=$(awk '/transactions:/ { gsub(/\(/, "", $3); print $3 }' "$INT_DIR/run-$round-$wl-$th-$fs.log")
        lat=$(awk '/95th percentile:/ { print $3 }' "$INT_DIR/run-$round-$wl-$th-$fs.log")
        dcpu=$(echo "($d1 - $d0) * 1000 / $tx" | bc -l)
        [ "$fs" = rewind ] || dcpu=0
        mcpu=$(echo "($m1 - $m0) * 1000 / $tx" | bc -l)
        log "round $round $wl threads $th $fs: $tps TPS, p95 $lat ms, CPUs idle $(printf %.0f "$idle") %"
        printf 'run %s %s %s %s %s %s %.3f %.3f %.1f\n' "$round" "$wl" "$th" "$fs" "$tps" "$lat" "$dcpu" "$mcpu" "$idle" >>"$OUT"
        k="$wl $th $fs"
        TPS[$k]="${TPS[$k]:-} $tps" DCPU[$k]="${DCPU[$k]:-} $dcpu" MCPU[$k]="${MCPU[$k]:-} $mcpu"
        IDLE[$k]="${IDLE[$k]:-} $idle"
      done
    done
  done
done

mean() { echo "$@" | awk '{ s = 0; for (i = 1; i <= NF; i++) s += $i; printf "%.0f", s / NF }'; }
mean3() { echo "$@" | awk '{ s = 0; for (i = 1; i <= NF; i++) s += $i; printf "%.2f", s / NF }'; }
{
  echo
  echo "| workload | threads | plain TPS | Rewind TPS | Rewind / plain | daemon CPU s / 1k tx | mariadbd CPU s / 1k tx (plain / Rewind) | CPUs idle % (plain / Rewind) |"
  echo "|---|---|---|---|---|---|---|---|"
  for wl in $WORKLOADS; do
    for th in $THREADS; do
      p=$(mean ${TPS[$wl $th plain]}) r=$(mean ${TPS[$wl $th rewind]})
      printf '| %s | %s | %s | %s | %.2f× | %s | %s / %s | %s / %s |\n' "$wl" "$th" "$p" "$r" \
        "$(echo "$r / $p" | bc -l)" "$(mean3 ${DCPU[$wl $th rewind]})" \
        "$(mean3 ${MCPU[$wl $th plain]})" "$(mean3 ${MCPU[$wl $th rewind]})" \
        "$(mean ${IDLE[$wl $th plain]})" "$(mean ${IDLE[$wl $th rewind]})"
    done
  done
  echo
  echo "Prepare ($ROWS rows, oltp_read_write prepare): plain ${PREP[plain]} s, Rewind ${PREP[rewind]} s."
} | tee -a "$OUT"
mdb_stop plain
mdb_stop rewind
daemon_stop d
log "raw results in $OUT"
