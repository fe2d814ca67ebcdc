# Shared harness for the end-to-end tests: starts a real rewindd on a temp data dir with free
# ports on 127.0.0.1, drives it with the real aws CLI, mysql and sysbench, and cleans up on every
# exit path (by PID only; unmounts what it mounted). Source it, then call e2e_start.
set -euo pipefail

BUILD_DIR=${BUILD_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../../build" && pwd)}
REWINDD="$BUILD_DIR/src/cli/rewindd"
E2E_DIR=$(mktemp -d /tmp/rewind-e2e-XXXXXX)
# mktemp makes it 0700: mariadbd runs as the engine user (mysql), which must traverse it to
# reach its cluster's files (rewindd refuses a data dir it cannot reach).
chmod 0711 "$E2E_DIR"
REWINDD_PID=""

E2E_T0=$(date +%s.%N)
log() {
  printf '[%s +%ss] %s\n' "$(date -u +%H:%M:%S)" \
    "$(awk -v a="$(date +%s.%N)" -v b="$E2E_T0" 'BEGIN { printf "%6.1f", a - b }')" "$*"
}
die() { log "FAIL: $*"; exit 1; }

source "$(dirname "${BASH_SOURCE[0]}")/../free_port.sh"

E2E_BG_PIDS=()  # background helpers of a test (load, checker): killed first at cleanup
e2e_cleanup() {
  local rc=$?
  set +e
  for pid in "${E2E_BG_PIDS[@]}"; do kill -KILL "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; done
  if [ -n "$REWINDD_PID" ] && [ -d "/proc/$REWINDD_PID" ]; then
    kill -TERM "$REWINDD_PID"
    for _ in $(seq 1 300); do [ -d "/proc/$REWINDD_PID" ] || break; sleep 0.1; done
    [ -d "/proc/$REWINDD_PID" ] && kill -KILL "$REWINDD_PID"
  fi
  # mariadbds left by a killed rewindd: only those started with this run's config files.
  for pidfile in "$E2E_DIR"/data/run/*/mariadbd/mariadbd.pid "$E2E_DIR"/data/run/*/mariadbd.pid; do
    [ -f "$pidfile" ] || continue
    local pid; pid=$(cat "$pidfile")
    if tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null | grep -q -- "--defaults-file=$E2E_DIR/"; then
      kill -KILL "$pid"
    fi
  done
  awk -v d="$E2E_DIR/" 'index($2, d) == 1 && $3 ~ /^fuse/ { print $2 }' /proc/mounts 2>/dev/null |
    while read -r m; do fusermount3 -u -z "$m"; done
  if [ $rc -ne 0 ] && [ -f "$E2E_DIR/rewindd.log" ]; then
    echo "---- rewindd.log (tail) ----"; tail -n 60 "$E2E_DIR/rewindd.log"
  fi
  # A test's own clean-up (a filesystem it mounted under E2E_DIR): after the FUSE mounts are
  # gone, before E2E_DIR is removed. E2E_RC is the test's exit status.
  E2E_RC=$rc
  if declare -F e2e_test_cleanup >/dev/null; then e2e_test_cleanup; fi
  rm -rf "$E2E_DIR"
  exit $rc
}
trap e2e_cleanup EXIT INT TERM

# Stops rewindd with SIGNAL (TERM: orderly; KILL: a crash that leaves its mariadbds and dead
# FUSE mounts behind) and waits until its process is gone.
e2e_stop() {
  local sig=${1:-TERM}
  kill -"$sig" "$REWINDD_PID"
  for _ in $(seq 1 600); do [ -d "/proc/$REWINDD_PID" ] || break; sleep 0.1; done
  wait "$REWINDD_PID" 2>/dev/null || true
  [ -d "/proc/$REWINDD_PID" ] && die "rewindd did not exit on SIG$sig"
  REWINDD_PID=""
}

# Waits (up to 60 s) until rewindd has died by itself (a failpoint), and reaps it.
e2e_wait_crash() {
  for _ in $(seq 1 600); do [ -d "/proc/$REWINDD_PID" ] || break; sleep 0.1; done
  [ -d "/proc/$REWINDD_PID" ] && die "rewindd did not die at its failpoint"
  wait "$REWINDD_PID" 2>/dev/null || true
  REWINDD_PID=""
}

# Starts rewindd (E2E_NO_WAIT=1: without waiting for its API); sets API_PORT, DATA, and the aws wrapper's environment. Again after e2e_stop:
# the same data dir and ports.
e2e_start() {
  if [ ! -c /dev/fuse ]; then die "/dev/fuse is missing: Rewind cannot mount; this test must fail"; fi
  DATA="$E2E_DIR/data"
  API_PORT=${API_PORT:-$(free_port)}
  FIRST_PORT=${FIRST_PORT:-$(free_port)}
  mkdir -p "$DATA"
  # shellcheck disable=SC2086 # REWINDD_ARGS: extra flags, word-split on purpose
  REWIND_FAILPOINTS="${REWIND_FAILPOINTS:-}" \
    "$REWINDD" --data-dir "$DATA" --listen "127.0.0.1:$API_PORT" --first-port "$FIRST_PORT" \
    ${REWINDD_ARGS:-} >>"$E2E_DIR/rewindd.log" 2>&1 &
  REWINDD_PID=$!
  export HOME="$E2E_DIR/home" AWS_CONFIG_FILE=/dev/null AWS_EC2_METADATA_DISABLED=true
  export AWS_SHARED_CREDENTIALS_FILE="$DATA/credentials"
  mkdir -p "$HOME"
  [ -z "${E2E_NO_WAIT:-}" ] || return 0  # the caller expects it to die (a failpoint)
  for _ in $(seq 1 200); do
    [ -s "$DATA/credentials" ] && aws_rds describe-db-clusters >/dev/null 2>&1 && return 0
    [ -d "/proc/$REWINDD_PID" ] || die "rewindd exited at start"
    sleep 0.1
  done
  die "rewindd did not answer"
}

# E2E_API_SCHEME=https (with --tls-cert/--tls-key in REWINDD_ARGS) and E2E_AWS_ARGS (extra aws
# flags, e.g. "--ca-bundle FILE") for a test of the API over TLS.
aws_rds() {
  # shellcheck disable=SC2086 # E2E_AWS_ARGS: extra flags, word-split on purpose
  /usr/bin/aws --profile rewind --region us-east-1 \
    --endpoint-url "${E2E_API_SCHEME:-http}://127.0.0.1:$API_PORT" ${E2E_AWS_ARGS:-} rds "$@"
}

# cluster_field CLUSTER FIELD → value from describe-db-clusters
cluster_field() {
  aws_rds describe-db-clusters --db-cluster-identifier "$1" --query "DBClusters[0].$2" --output text
}

# sql CLUSTER "statements" → batch output, as the master user over TCP at the cluster endpoint
sql() {
  local host port
  host=$(cluster_field "$1" Endpoint); port=$(cluster_field "$1" Port)
  mysql -h "$host" -P "$port" -u masteruser -p"$MASTER_PASSWORD" -N -B mylab -e "$2"
}

# The lab's helpers; they use MASTER_PASSWORD and ROWS (table size) of the calling test.
sysbench_prepare() {
  local port; port=$(cluster_field "$1" Port)
  sysbench oltp_write_only --threads=1 --mysql-host="$(cluster_field "$1" Endpoint)" \
    --mysql-user=masteruser --mysql-password="$MASTER_PASSWORD" --mysql-port="$port" \
    --tables=1 --mysql-db=mylab --table-size="$ROWS" prepare >/dev/null
}
checksum() { sql "$1" "CHECKSUM TABLE sbtest1" | awk '{print $2}'; }
# Polls first: the CLI's waiter sleeps 30 s between its checks.
wait_available() {
  for _ in $(seq 1 600); do
    [ "$(status_of "$1")" = available ] && break
    sleep 0.3
  done
  aws_rds wait db-cluster-available --db-cluster-identifier "$1"
}
wait_instance() {
  for _ in $(seq 1 600); do
    [ "$(aws_rds describe-db-instances --db-instance-identifier "$1" \
         --query 'DBInstances[0].DBInstanceStatus' --output text)" = available ] && break
    sleep 0.3
  done
  aws_rds wait db-instance-available --db-instance-identifier "$1"
}
status_of() { cluster_field "$1" Status; }

# create_cluster_with_writer ID WINDOW: cluster ID (masteruser / MASTER_PASSWORD, database
# mylab, BacktrackWindow WINDOW) and its writer ID-1, both available.
create_cluster_with_writer() {
  aws_rds create-db-cluster --db-cluster-identifier "$1" --engine aurora-mysql \
    --master-username masteruser --master-user-password "$MASTER_PASSWORD" \
    --database-name mylab --backtrack-window "$2" >/dev/null
  wait_available "$1"
  aws_rds create-db-instance --db-instance-identifier "$1-1" --db-cluster-identifier "$1" \
    --engine aurora-mysql --db-instance-class db.r5.large >/dev/null
  wait_instance "$1-1"
}

# expect_aws_error CODE aws-args... : the real CLI must fail with that AWS error code
expect_aws_error() {
  local code=$1; shift
  local out rc=0
  out=$(aws_rds "$@" 2>&1) || rc=$?
  [ $rc -ne 0 ] || die "expected $code from: aws rds $*; it succeeded: $out"
  echo "$out" | grep -q "($code)" || die "expected $code from: aws rds $*; got: $out"
  log "refused as expected: $code"
}
