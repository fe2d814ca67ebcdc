#!/usr/bin/env bash
# Stops the rewindd that scripts/run.sh started (by its PID): engines stop, volumes unmount.
set -euo pipefail
DATA=${REWIND_DATA_DIR:-/var/lib/rewind}
pid=$(cat "$DATA/rewindd.pid" 2>/dev/null || true)
if [ -z "$pid" ] || ! tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null | grep -q -- "--data-dir $DATA"; then
  echo "stop: rewindd is not running"; exit 0
fi
kill -TERM "$pid"
for _ in $(seq 1 600); do [ -d "/proc/$pid" ] || { echo "stop: stopped"; exit 0; }; sleep 0.1; done
echo "stop: rewindd (pid $pid) did not stop within 60 s" >&2; exit 1
