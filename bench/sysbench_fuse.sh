#!/usr/bin/env bash
# sysbench through Rewind vs the plain local filesystem, in one run, alternated.
#
#   bench/sysbench_fuse.sh [--time S] [--rows N] [--threads "1 4"] [--rounds R (3)]
#                          [--workloads "oltp_write_only oltp_read_write"] [--bulk on|off (on)]
#                          [--rewind-mount BIN] [--mount-threads N] [--compress on|off (on)]
#                          [--mount-args "ARGS"] [--mariadbd-args "ARGS"] [--dir DIR]
#                          [--engine-user NAME (mysql)]
#
# The same mariadbd (same options: tests/integration/lib.sh mdb_start, 256M buffer pool) runs
# as an unprivileged user over a mount that admits only it and root, as under rewindd (`root`
# gives the set-up before mariadbd left root), once on a plain directory and once on a
# rewind-mount of a fresh store, both on the same filesystem (DIR, default /tmp).
# Bulk loads first (--bulk on), each round on plain and on Rewind back to back, the order
# swapped every round: `sysbench prepare` of ROWS rows (after dropping the table), then an
# import of a `mariadb-dump` of that table (made once from plain, untimed) with `mariadb <
# dump.sql` after dropping it; both timed, with the CPU mariadbd and the daemon used. Then
# every (workload, threads) pair runs on plain and on Rewind back to back, the order swapped
# every round. Ratios are taken per round (a pair measured side by side) and reported as
# min / median / max over the rounds.
# Before each run both servers are quiesced (dirty pages flushed), so that one server's
# background flushing does not load the other's run; only one server is under load at a time.
# Prints markdown tables (TPS and its ratio; CPU per transaction: mariadbd + the FUSE daemon,
# from /proc/PID/stat, and its ratio; how idle the machine's CPUs were; bulk-load times and
# their ratio) and the host's CPU model, and keeps raw results in $OUT
# (default bench-results-<date>.txt). BENCH_DURING_RUN="cmd" runs `cmd FS WORKLOAD THREADS
# MARIADBD_PID DAEMON_PID` 5 s into every run (for example bench/offcpu_hook.sh: where
# mariadbd's threads wait).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)

TIME=60 ROWS=1000000 THREADS="1 4" ROUNDS=3 WORKLOADS="oltp_write_only oltp_read_write" BULK=on
MOUNT_THREADS="" MOUNT_ARGS="" MARIADBD_ARGS="" COMPRESS=on DIR=/tmp OUT="" ENGINE_USER=mysql
REWIND_MOUNT=${REWIND_MOUNT:-}
while [ $# -gt 0 ]; do
  case $1 in
    --time) TIME=$2; shift 2 ;;
    --rows) ROWS=$2; shift 2 ;;
    --threads) THREADS=$2; shift 2 ;;
    --rounds) ROUNDS=$2; shift 2 ;;
    --workloads) WORKLOADS=$2; shift 2 ;;
    --bulk) BULK=$2; shift 2 ;;
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
  --workloads "$WORKLOADS" --bulk "$BULK" --rewind-mount "$REWIND_MOUNT" --dir "$DIR" --out "$OUT" \
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

MARIADB_DUMP=${MARIADB_DUMP:-/usr/bin/mariadb-dump}
# bulk FS KIND ROUND CMD...: runs CMD (a bulk load into FS's server) timed, with the CPU
# seconds mariadbd and (Rewind) the daemon used; records "bulk KIND ROUND FS SECONDS CPU_S".
declare -A BULK_S=() BULK_CPU=()
bulk() {
  local fs=$1 kind=$2 round=$3 t d0 m0 d1 m1 secs cpu
  shift 3
  quiesce plain
  quiesce rewind
  d0=$(cpu_s "$DPID") m0=$(cpu_s "${MDB_PID[$fs]}")
  t=$(date +%s.%N)
  "$@" || die "$kind on $fs failed"
  secs=$(since "$t")
  d1=$(cpu_s "$DPID") m1=$(cpu_s "${MDB_PID[$fs]}")
  if [ "$fs" = rewind ]; then
    cpu=$(echo "$m1 - $m0 + $d1 - $d0" | bc -l)
  else
    cpu=$(echo "$m1 - $m0" | bc -l)
  fi
  log "round $round $kind on $fs: $secs s, CPU $(printf %.2f "$cpu") s"
  printf 'bulk %s %s %s %s %.2f\n' "$kind" "$round" "$fs" "$secs" "$cpu" >>"$OUT"
  BULK_S[$kind $fs]="${BULK_S[$kind $fs]:-} $secs" BULK_CPU[$kind $fs]="${BULK_CPU[$kind $fs]:-} $cpu"
}
prepare() {
  sql "$1" "DROP TABLE IF EXISTS sbtest.sbtest1"
  sb "$1" oltp_read_write prepare --table-size="$ROWS" >"$INT_DIR/prepare-$1.log"
}
import() { "$MARIADB" --defaults-file="$(client_cnf)" -P "${MDB_PORT[$1]}" sbtest <"$INT_DIR/dump.sql"; }
if [ "$BULK" = on ]; then
  for round in $(seq 1 "$ROUNDS"); do
    if [ $((round % 2)) -eq 1 ]; then order="plain rewind"; else order="rewind plain"; fi
    for fs in $order; do bulk "$fs" prepare "$round" prepare "$fs"; done
  done
  # One dump of ROWS rows (what `sysbench prepare` made), imported into a dropped table.
  "$MARIADB_DUMP" --defaults-file="$(client_cnf)" -P "${MDB_PORT[plain]}" sbtest sbtest1 \
    >"$INT_DIR/dump.sql" || die "mariadb-dump failed"
  log "dump of $ROWS rows: $(du -m "$INT_DIR/dump.sql" | cut -f1) MiB"
  for round in $(seq 1 "$ROUNDS"); do
    if [ $((round % 2)) -eq 1 ]; then order="plain rewind"; else order="rewind plain"; fi
    for fs in $order; do
      sql "$fs" "DROP TABLE IF EXISTS sbtest.sbtest1"
      bulk "$fs" import "$round" import "$fs"
    done
  done
  rm -f "$INT_DIR/dump.sql"
else
  for fs in plain rewind; do bulk "$fs" prepare 1 prepare "$fs"; done
fi

declare -A TPS=() DCPU=() MCPU=() IDLE=() RATIO=() CPURATIO=()
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
        eval "last_tps_$fs=$tps last_cpu_$fs=$(echo "$dcpu + $mcpu" | bc -l)"
      done
      # This round's pair, side by side.
      k="$wl $th"
      RATIO[$k]="${RATIO[$k]:-} $(echo "$last_tps_rewind / $last_tps_plain" | bc -l)"
      CPURATIO[$k]="${CPURATIO[$k]:-} $(echo "$last_cpu_rewind / $last_cpu_plain" | bc -l)"
    done
  done
done

mean() { echo "$@" | awk '{ s = 0; for (i = 1; i <= NF; i++) s += $i; printf "%.0f", s / NF }'; }
# median FMT VALUES...; mmm VALUES...: "min / median / max" (2 decimals).
median() {
  local fmt=$1
  shift
  echo "$@" | tr ' ' '\n' | grep . | sort -g | awk -v f="$fmt" '{ v[NR] = $1 }
    END { printf f, NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
mmm() {
  echo "$@" | tr ' ' '\n' | grep . | sort -g | awk '{ v[NR] = $1 }
    END { printf "%.2f / %.2f / %.2f", v[1], NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2, v[NR] }'
}
{
  echo
  echo "Host CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) CPUs; $ROUNDS rounds (alternated pairs); ratios per pair, min / median / max."
  echo
  echo "| workload | threads | plain TPS (median) | Rewind TPS (median) | Rewind / plain TPS | CPU ms / tx, mariadbd + daemon (plain / Rewind, medians) | of which daemon | Rewind / plain CPU per tx | CPUs idle % (plain / Rewind) |"
  echo "|---|---|---|---|---|---|---|---|---|"
  for wl in $WORKLOADS; do
    for th in $THREADS; do
      k="$wl $th"
      printf '| %s | %s | %s | %s | %s | %s / %s | %s | %s | %s / %s |\n' "$wl" "$th" \
        "$(median %.0f ${TPS[$k plain]})" "$(median %.0f ${TPS[$k rewind]})" "$(mmm ${RATIO[$k]})" \
        "$(median %.3f ${MCPU[$k plain]})" \
        "$(median %.3f "$(paste -d+ <(echo ${MCPU[$k rewind]} | tr ' ' '\n') <(echo ${DCPU[$k rewind]} | tr ' ' '\n') | bc -l | tr '\n' ' ')")" \
        "$(median %.3f ${DCPU[$k rewind]})" "$(mmm ${CPURATIO[$k]})" \
        "$(mean ${IDLE[$k plain]})" "$(mean ${IDLE[$k rewind]})"
    done
  done
  echo
  echo "| bulk load ($ROWS rows) | plain s (median) | Rewind s (median) | Rewind speed / plain (plain s / Rewind s) | CPU s, mariadbd + daemon (plain / Rewind, medians) |"
  echo "|---|---|---|---|---|"
  for kind in prepare import; do
    [ -n "${BULK_S[$kind plain]:-}" ] || continue
    speed=$(paste -d/ <(echo ${BULK_S[$kind plain]} | tr ' ' '\n') <(echo ${BULK_S[$kind rewind]} | tr ' ' '\n') | bc -l | tr '\n' ' ')
    printf '| %s | %s | %s | %s | %s / %s |\n' "$kind" "$(median %.2f ${BULK_S[$kind plain]})" \
      "$(median %.2f ${BULK_S[$kind rewind]})" "$(mmm $speed)" \
      "$(median %.2f ${BULK_CPU[$kind plain]})" "$(median %.2f ${BULK_CPU[$kind rewind]})"
  done
} | tee -a "$OUT"
mdb_stop plain
mdb_stop rewind
daemon_stop d
log "raw results in $OUT"
