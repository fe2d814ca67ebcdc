#!/usr/bin/env bash
# A BENCH_DURING_RUN hook for bench/sysbench_fuse.sh: where mariadbd's threads wait.
#
#   BENCH_DURING_RUN="bash bench/offcpu_hook.sh DIR" bash bench/sysbench_fuse.sh ...
#
# Called as `offcpu_hook.sh DIR FS WORKLOAD THREADS MARIADBD_PID DAEMON_PID`, it records every
# context switch on the machine for 4 s (perf, with kernel stacks) and writes
# DIR/offcpu-FS-WORKLOAD-THREADS[-N].md: mariadbd's off-CPU time by the kernel function its
# threads slept in (bench/offcpu_report.py). Needs perf (Debian package linux-perf).
set -euo pipefail
dir=$1 fs=$2 wl=$3 th=$4 mdb_pid=$5
command -v perf >/dev/null || { echo "offcpu_hook: needs perf (apt-get install linux-perf)" >&2; exit 1; }
mkdir -p "$dir"
base="$dir/offcpu-$fs-$wl-$th"
out="$base.md" n=1
while [ -e "$out" ]; do n=$((n + 1)); out="$base-$n.md"; done
data=$(mktemp "$dir/perf-XXXXXX.data")
trap 'rm -f "$data"' EXIT
perf record -q -e sched:sched_switch -g -a -o "$data" -- sleep 4 >/dev/null 2>&1
perf script -i "$data" -F comm,pid,tid,cpu,time,event,trace,ip,sym 2>/dev/null |
  python3 "$(dirname "$0")/offcpu_report.py" "$mdb_pid" >"$out"
