# Shared helpers of the object-store e2e tests (after tests/e2e/lib.sh): the `ceph` fixture's
# S3 settings, /metrics and events readers, and the loss of the machine.
[ -n "${REWIND_S3_ENV:-}" ] && [ -f "$REWIND_S3_ENV" ] ||
  die "REWIND_S3_ENV must name the ceph fixture's s3.env (ctest -R objstore runs the fixture)"
# shellcheck disable=SC1090
source "$REWIND_S3_ENV"
export AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY
CEPH_HANDLE=$(dirname "$REWIND_S3_ENV")
CEPH_SH="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/ceph.sh"

# metric NAME: the value of an unlabelled sample of rewindd's /metrics.
metric() {
  curl -fsS "http://127.0.0.1:$API_PORT/metrics" | awk -v n="$1" '$1 == n { print $2 }'
}

# events CLUSTER: the messages of the cluster's events of the last hour, captured whole first
# (the CLI prints page by page: a grep -q that exits early would fail the pipeline).
events() {
  aws_rds describe-events --source-identifier "$1" --source-type db-cluster --duration 60 \
    --query 'Events[].Message' --output text
}

# lose_machine: rewindd killed (-9), then what the lost machine ran with it: its engines (those
# started with this run's config files) and its FUSE mounts; the data dir is deleted.
lose_machine() {
  e2e_stop KILL
  local pidfile pid
  for pidfile in "$DATA"/run/*/mariadbd/mariadbd.pid; do
    [ -f "$pidfile" ] || continue
    pid=$(cat "$pidfile")
    if tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null | grep -q -- "--defaults-file=$E2E_DIR/"; then
      kill -KILL "$pid"
      for _ in $(seq 1 100); do [ -d "/proc/$pid" ] || break; sleep 0.1; done
    fi
  done
  awk -v d="$DATA/" 'index($2, d) == 1 && $3 ~ /^fuse/ { print $2 }' /proc/mounts |
    while read -r m; do fusermount3 -u -z "$m"; done
  rm -rf "$DATA"
}

# The fixture's radosgw stopped / started again by PID (ceph.sh stop-rgw / start-rgw). A test
# that stops it calls rgw_cleanup from its e2e_test_cleanup: it is never left stopped.
RGW_STOPPED=0
rgw_stop() { RGW_STOPPED=1; bash "$CEPH_SH" stop-rgw "$CEPH_HANDLE"; }
rgw_start() { bash "$CEPH_SH" start-rgw "$CEPH_HANDLE"; RGW_STOPPED=0; }
rgw_cleanup() { [ "$RGW_STOPPED" = 1 ] && bash "$CEPH_SH" start-rgw "$CEPH_HANDLE"; true; }

# sysbench_load CLUSTER [THREADS [SECONDS]]: oltp_write_only, THREADS threads (3), on the ROWS
# rows sysbench_prepare made, for SECONDS (3600: until sysbench_stop, which fails the test if
# sysbench met an error). Its PID: SB; its output: $E2E_DIR/sysbench.out.
sysbench_load() {
  command -v sysbench >/dev/null || die "sysbench is missing (scripts/setup.sh installs it)"
  # The endpoint first: in the background command's arguments it would be asked for after this
  # returns (two aws CLI runs, seconds on a loaded machine, before the load starts).
  local host port
  host=$(cluster_field "$1" Endpoint); port=$(cluster_field "$1" Port)
  sysbench oltp_write_only --threads="${2:-3}" --mysql-host="$host" \
    --mysql-port="$port" --mysql-user=masteruser \
    --mysql-password="$MASTER_PASSWORD" --mysql-db=mylab --tables=1 --table-size="$ROWS" \
    --time="${3:-3600}" run >"$E2E_DIR/sysbench.out" 2>&1 &
  SB=$!
  E2E_BG_PIDS+=("$SB")
}
sysbench_stop() {
  kill -TERM "$SB"; wait "$SB" 2>/dev/null || true
  e2e_bg_reaped "$SB"
  ! grep -q "FATAL" "$E2E_DIR/sysbench.out" ||
    die "sysbench failed: $(grep -m 3 FATAL "$E2E_DIR/sysbench.out")"
}
# commits CLUSTER: the engine's Com_commit.
commits() { sql "$1" "SHOW GLOBAL STATUS LIKE 'Com_commit'" | awk '{ print $2 }'; }

# restore_keeps_last_commit CLUSTER: with writes stopped, the machine lost 3 s after the last
# commit; rewindd --restore on a new data dir must serve sbtest1 with the same checksum.
restore_keeps_last_commit() {
  local sum got
  sum=$(checksum "$1")
  sleep 3
  lose_machine
  REWINDD_ARGS="$REWINDD_ARGS --restore"
  e2e_start
  wait_available "$1"
  for _ in $(seq 1 300); do sql "$1" "SELECT 1" >/dev/null 2>&1 && break; sleep 0.2; done
  got=$(checksum "$1")
  [ "$got" = "$sum" ] || die "restored sbtest1 checksum $got, the last commit left $sum"
  log "restored checksum $got = the last commit's"
}
