#!/usr/bin/env bash
# What one commit-like write costs in CPU through Rewind and on the plain filesystem.
#
#   bench/fuse_roundtrip.sh [--dir DIR (/tmp)] [--ops N (20000)] [--bs BYTES (2048)]
#                           [--compress on|off (off)] [--rounds R (2)] [--mount-args "ARGS"]
#                           [--rewind-mount BIN]
#
# A single writer (dd, O_DSYNC: each write(2) is followed by the file's data sync, as an
# InnoDB redo-log commit does) overwrites N blocks of BS bytes of a file written and synced
# beforehand (as InnoDB's redo log is) on a plain directory and on a rewind-mount of a fresh
# store, both in DIR, alternated R times. Through FUSE each write is a WRITE and an FSYNC
# request. Prints, per write: wall time, the writer's CPU and the daemon's CPU (user +
# system, from /proc). With DIR on tmpfs there is no device: the figures are then the CPU
# price of the FUSE round trips plus the store's bookkeeping, the part of Rewind's cost that
# no tuning of the store removes (docs/benchmarks.md).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)

DIR=/tmp OPS=20000 BS=2048 COMPRESS=off ROUNDS=2 MOUNT_ARGS="" REWIND_MOUNT=${REWIND_MOUNT:-}
while [ $# -gt 0 ]; do
  case $1 in
    --dir) DIR=$2; shift 2 ;;
    --ops) OPS=$2; shift 2 ;;
    --bs) BS=$2; shift 2 ;;
    --compress) COMPRESS=$2; shift 2 ;;
    --rounds) ROUNDS=$2; shift 2 ;;
    --mount-args) MOUNT_ARGS=$2; shift 2 ;;  # more rewind-mount options, e.g. "--eager-sync off"
    --rewind-mount) REWIND_MOUNT=$2; shift 2 ;;
    -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
for n in "$OPS" "$BS" "$ROUNDS"; do
  case $n in ''|*[!0-9]*|0) echo "--ops, --bs and --rounds take positive integers, not '$n'" >&2; exit 2 ;; esac
done
if [ -z "$REWIND_MOUNT" ]; then
  for b in "$ROOT/build/src/fs/rewind-mount" "$ROOT"/build*/src/fs/rewind-mount; do
    [ -x "$b" ] && { REWIND_MOUNT=$b; break; }
  done
fi
export INT_TMP=$DIR
source "$ROOT/tests/integration/lib.sh"
int_private_ns --dir "$DIR" --ops "$OPS" --bs "$BS" --compress "$COMPRESS" --rounds "$ROUNDS" \
  --rewind-mount "$REWIND_MOUNT" ${MOUNT_ARGS:+--mount-args "$MOUNT_ARGS"}
int_setup roundtrip

ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }  # user + system clock ticks so far
HZ=$(getconf CLK_TCK)

PLAIN=$INT_DIR/plain MNT=$INT_DIR/mnt
mkdir -p "$PLAIN"
# shellcheck disable=SC2086 # MOUNT_ARGS: options, word-split on purpose
daemon_start d "$INT_DIR/store" "$MNT" --volume bench --create --compress "$COMPRESS" $MOUNT_ARGS
DPID=${DAEMON_PID[d]}
echo "# fuse_roundtrip $(date -u +%FT%TZ): $(nproc) cores $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), kernel $(uname -r), $DIR on $(df --output=fstype "$DIR" | tail -n1); $OPS writes of $BS bytes, O_DSYNC; compression $COMPRESS${MOUNT_ARGS:+; rewind-mount $MOUNT_ARGS}"

# One run: prints "wall_us writer_cpu_us daemon_cpu_us" per write.
run() {
  local file=$1/f-$2 t0 t1 d0 d1 out
  dd if=/dev/zero of="$file" bs="$BS" count="$OPS" conv=fsync status=none
  d0=$(ticks "$DPID")
  t0=$(date +%s%N)
  # dd's own CPU comes from bash's `times` of a subshell that runs only dd.
  out=$( (dd if=/dev/zero of="$file" bs="$BS" count="$OPS" oflag=dsync conv=notrunc status=none; times) | tail -n1)
  t1=$(date +%s%N)
  d1=$(ticks "$DPID")
  rm -f "$file"
  # `times` prints the children's "XmY.YYYs XmY.YYYs" (user system).
  awk -v w=$(( (t1 - t0) / 1000 )) -v n="$OPS" -v dd="$out" -v d=$(( d1 - d0 )) -v hz="$HZ" 'BEGIN {
    split(dd, f, /[ ms]+/); cpu = (f[1] * 60 + f[2] + f[3] * 60 + f[4]) * 1e6
    printf "%.1f %.1f %.1f\n", w / n, cpu / n, d * 1e6 / hz / n }'
}

declare -A SUM_W=() SUM_C=() SUM_D=()
for fs in plain rewind; do SUM_W[$fs]=0 SUM_C[$fs]=0 SUM_D[$fs]=0; done
for round in $(seq 1 "$ROUNDS"); do
  order="plain rewind"; [ $((round % 2)) -eq 0 ] && order="rewind plain"
  for fs in $order; do
    dir=$PLAIN; [ "$fs" = rewind ] && dir=$MNT
    res=$(run "$dir" "$round")  # a failed dd ends the run here (set -e)
    read -r w c d <<<"$res"
    log "round $round $fs: $w µs per write, writer $c µs CPU, daemon $d µs CPU"
    SUM_W[$fs]=$(echo "${SUM_W[$fs]} + $w" | bc -l)
    SUM_C[$fs]=$(echo "${SUM_C[$fs]} + $c" | bc -l)
    SUM_D[$fs]=$(echo "${SUM_D[$fs]} + $d" | bc -l)
  done
done
echo
echo "| filesystem | µs per write (wall) | writer CPU µs per write | daemon CPU µs per write |"
echo "|---|---|---|---|"
for fs in plain rewind; do
  printf '| %s | %.1f | %.1f | %.1f |\n' "$fs" "$(echo "${SUM_W[$fs]} / $ROUNDS" | bc -l)" \
    "$(echo "${SUM_C[$fs]} / $ROUNDS" | bc -l)" "$(echo "${SUM_D[$fs]} / $ROUNDS" | bc -l)"
done
