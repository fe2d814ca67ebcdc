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
# A test with several nodes (tests/objstore/rewindd_peer_clone_test.sh) sets DATA_DIR and
# E2E_LOG per node before e2e_start, and keeps the other nodes' rewindd PIDs here: the clean-up
# stops them as it stops REWINDD_PID.
DATA_DIR="$E2E_DIR/data"
E2E_LOG="$E2E_DIR/rewindd.log"
E2E_OTHER_REWINDDS=()

E2E_T0=$(date +%s.%N)
log() {
  printf '[%s +%ss] %s\n' "$(date -u +%H:%M:%S)" \
    "$(awk -v a="$(date +%s.%N)" -v b="$E2E_T0" 'BEGIN { printf "%6.1f", a - b }')" "$*"
}
die() { log "FAIL: $*"; exit 1; }

source "$(dirname "${BASH_SOURCE[0]}")/../free_port.sh"

E2E_BG_PIDS=()  # background helpers of a test (load, checker): killed first at cleanup
# e2e_bg_reaped PID: PID was waited for; the cleanup must not kill it (the number may be reused).
e2e_bg_reaped() {
  local p kept=()
  for p in "${E2E_BG_PIDS[@]}"; do [ "$p" = "$1" ] || kept+=("$p"); done
  E2E_BG_PIDS=("${kept[@]}")
}
e2e_cleanup() {
  local rc=$?
  set +e
  trap - ERR
  for pid in "${E2E_BG_PIDS[@]}"; do kill -KILL "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; done
  if [ -n "${E2E_WATCHDOG:-}" ]; then
    # The watchdog first (killing its sleep first would make it report "Killed"), then its sleep.
    local sleeper; sleeper=$(pgrep -P "$E2E_WATCHDOG" 2>/dev/null)
    kill -KILL "$E2E_WATCHDOG" 2>/dev/null; wait "$E2E_WATCHDOG" 2>/dev/null
    [ -z "$sleeper" ] || kill -KILL $sleeper 2>/dev/null
  fi
  local rpid
  for rpid in "$REWINDD_PID" "${E2E_OTHER_REWINDDS[@]}"; do
    [ -n "$rpid" ] && [ -d "/proc/$rpid" ] && kill -TERM "$rpid"
  done
  for rpid in "$REWINDD_PID" "${E2E_OTHER_REWINDDS[@]}"; do
    [ -n "$rpid" ] || continue
    for _ in $(seq 1 300); do [ -d "/proc/$rpid" ] || break; sleep 0.1; done
    [ -d "/proc/$rpid" ] && kill -KILL "$rpid"
  done
  # mariadbds left by a killed rewindd: only those started with this run's config files.
  for pidfile in "$E2E_DIR"/data*/run/*/mariadbd/mariadbd.pid "$E2E_DIR"/data*/run/*/mariadbd.pid \
      "$E2E_DIR"/data*/run/.reader-*/mariadbd/mariadbd.pid "$E2E_DIR"/data*/run/.haproxy-*/haproxy.pid; do
    [ -f "$pidfile" ] || continue
    local pid; pid=$(cat "$pidfile")
    if tr '\0' ' ' 2>/dev/null < "/proc/$pid/cmdline" | grep -qE -- "(--defaults-file=| -f )$E2E_DIR/"; then
      kill -KILL "$pid"
    fi
  done
  # Any other process naming this run's directory (e.g. the HAProxy of a rewindd the test killed
  # -9 and whose data dir it then deleted, as a lost machine): by PID, found by its command line.
  local d cmd
  for d in /proc/[0-9]*; do
    cmd=$(tr '\0' ' ' 2>/dev/null < "$d/cmdline") || continue
    [[ $cmd == *"$E2E_DIR/"* ]] && kill -KILL "${d#/proc/}" 2>/dev/null
  done
  awk -v d="$E2E_DIR/" 'index($2, d) == 1 && $3 ~ /^fuse/ { print $2 }' /proc/mounts 2>/dev/null |
    while read -r m; do fusermount3 -u -z "$m"; done
  if [ $rc -ne 0 ]; then
    local f
    for f in "$E2E_DIR"/rewindd*.log; do
      [ -f "$f" ] && { echo "---- ${f##*/} (tail) ----"; tail -n 60 "$f"; }
    done
  fi
  # A test's own clean-up (a filesystem it mounted under E2E_DIR): after the FUSE mounts are
  # gone, before E2E_DIR is removed. E2E_RC is the test's exit status.
  E2E_RC=$rc
  if declare -F e2e_test_cleanup >/dev/null; then e2e_test_cleanup; fi
  rm -rf "$E2E_DIR"
  exit $rc
}
trap e2e_cleanup EXIT
# Interrupted (ctest's timeout, ^C): a failure, never a pass; the EXIT trap cleans up once.
trap 'exit 130' INT
trap 'exit 143' TERM
# CTest ends a test past its TIMEOUT with SIGKILL, which no trap sees: its FUSE mounts and daemons
# would outlive it. A watchdog TERMs the script (and its children, so that a long foreground
# command does not hold the trap back) 45 s before, and the EXIT trap cleans up.
E2E_WATCHDOG=""
if [ "${E2E_TIMEOUT:-0}" -gt 60 ]; then
  ( sleep $((E2E_TIMEOUT - 45))
    echo "e2e: $((E2E_TIMEOUT - 45)) s passed, near CTest's timeout: stopping the test to clean up" >&2
    kill -TERM $$; pkill -TERM -P $$ ) &
  E2E_WATCHDOG=$!
fi
# A command that fails outside a test's own checks (set -e) says where, instead of a silent exit.
set -E
trap 'log "FAIL: \"$BASH_COMMAND\" exited with status $? (${BASH_SOURCE[0]}:$LINENO)"' ERR

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

# e2e_wait_failpoint NAME: waits (up to 90 s) until rewindd died at failpoint NAME, and reaps
# it. Proof that it was the failpoint: it was killed by SIGKILL (exit status 137) and its stderr
# since it was started says "failpoint NAME: the process dies here" (src/common/failpoint.cc).
e2e_wait_failpoint() {
  local name=$1 rc=0
  for _ in $(seq 1 900); do [ -d "/proc/$REWINDD_PID" ] || break; sleep 0.1; done
  [ -d "/proc/$REWINDD_PID" ] && die "rewindd did not die at failpoint $name within 90 s"
  wait "$REWINDD_PID" 2>/dev/null || rc=$?
  REWINDD_PID=""
  [ "$rc" = 137 ] || die "rewindd exited with status $rc, not killed (137) by failpoint $name"
  tail -c +"$((E2E_LOG_START + 1))" "$E2E_LOG" |
    grep -qxF "failpoint $name: the process dies here" ||
    die "rewindd was killed, but its log does not say failpoint $name killed it"
}

# Starts rewindd (E2E_NO_WAIT=1: without waiting for its API); sets API_PORT, DATA, and the aws wrapper's environment. Again after e2e_stop:
# the same data dir and ports.
e2e_start() {
  if [ ! -c /dev/fuse ]; then die "/dev/fuse is missing: Rewind cannot mount; this test must fail"; fi
  DATA="$DATA_DIR"
  API_PORT=${API_PORT:-$(free_port)}
  FIRST_PORT=${FIRST_PORT:-$(free_port)}
  mkdir -p "$DATA"
  touch "$E2E_LOG"
  E2E_LOG_START=$(stat -c %s "$E2E_LOG")  # this rewindd's lines start here
  # shellcheck disable=SC2086 # REWINDD_ARGS: extra flags, word-split on purpose
  REWIND_FAILPOINTS="${REWIND_FAILPOINTS:-}" \
    "$REWINDD" --data-dir "$DATA" --listen "127.0.0.1:$API_PORT" --first-port "$FIRST_PORT" \
    ${REWINDD_ARGS:-} >>"$E2E_LOG" 2>&1 &
  REWINDD_PID=$!
  export HOME="$E2E_DIR/home" AWS_CONFIG_FILE=/dev/null AWS_EC2_METADATA_DISABLED=true
  export AWS_SHARED_CREDENTIALS_FILE="$DATA/credentials"
  mkdir -p "$HOME"
  [ -z "${E2E_NO_WAIT:-}" ] || return 0  # the caller expects it to die (a failpoint)
  for _ in $(seq 1 200); do
    [ -s "$DATA/credentials" ] &&
      rds_query DescribeDBClusters 2>/dev/null | grep -q '<DescribeDBClustersResponse' && return 0
    [ -d "/proc/$REWINDD_PID" ] || die "rewindd exited at start: $(tail -n 1 "$E2E_LOG")"
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

# rds_query ACTION [NAME=VALUE…]: the raw XML answer (or error document) of an RDS action, signed
# by curl's own SigV4 with the run's credentials (given on stdin, not on a command line). The
# waits below poll with it: an aws CLI call costs ~0.8 s of CPU, stolen from the servers under
# test on a 2-core machine. Every result a test checks still goes through the real aws CLI.
# E2E_CURL_ARGS: extra curl flags (e.g. "--cacert FILE" over TLS).
rds_query() {
  local action=$1 kv
  shift
  local form=(--data-urlencode "Action=$action" --data-urlencode "Version=2014-10-31")
  for kv in "$@"; do form+=(--data-urlencode "$kv"); done
  awk -F' *= *' '$1 == "aws_access_key_id" { k = $2 } $1 == "aws_secret_access_key" { s = $2 }
                 END { printf "user = \"%s:%s\"\n", k, s }' "$DATA/credentials" |
    # shellcheck disable=SC2086 # E2E_CURL_ARGS: extra flags, word-split on purpose
    curl -sS --max-time 30 -K - --aws-sigv4 "aws:amz:us-east-1:rds" ${E2E_CURL_ARGS:-} \
      "${form[@]}" "${E2E_API_SCHEME:-http}://127.0.0.1:$API_PORT/"
}
# xml_values TAG: the text of every <TAG> element on stdin, one per line.
xml_values() { grep -oE "<$1>[^<]*</$1>" | sed -E 's/<[^>]*>//g'; }

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
    [ "$(rds_query DescribeDBClusters DBClusterIdentifier="$1" | xml_values Status)" = available ] &&
      break
    sleep 0.3
  done
  aws_rds wait db-cluster-available --db-cluster-identifier "$1"
}
wait_instance() {
  for _ in $(seq 1 600); do
    [ "$(rds_query DescribeDBInstances DBInstanceIdentifier="$1" | xml_values DBInstanceStatus)" = \
      available ] && break
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

# restore_snapshot_with_writer CLUSTER SNAPSHOT [ARGS...]: restore-db-cluster-from-snapshot
# (with ARGS), then (as in Aurora) create-db-instance CLUSTER-1; returns when the new writer
# answers SQL.
restore_snapshot_with_writer() {
  aws_rds restore-db-cluster-from-snapshot --db-cluster-identifier "$1" \
    --snapshot-identifier "$2" --engine aurora-mysql "${@:3}" >/dev/null
  wait_available "$1"
  aws_rds create-db-instance --db-instance-identifier "$1-1" --db-cluster-identifier "$1" \
    --engine aurora-mysql --db-instance-class db.r5.large >/dev/null
  wait_instance "$1-1"
  wait_sql "$1"
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

# wait_sql CLUSTER: until the cluster's writer answers SQL (up to 120 s). After a restart of
# rewindd an instance shows available while its mariadbd still starts (and recovers).
wait_sql() {
  for _ in $(seq 1 600); do sql "$1" "SELECT 1" >/dev/null 2>&1 && return 0; sleep 0.2; done
  die "$1 does not answer SQL: $(sql "$1" "SELECT 1" 2>&1)"
}

# backtrack_status CLUSTER T: the status of CLUSTER's backtrack to epoch second T (empty if there
# is none). The call that asked for it may have lost its answer (rewindd died first).
backtrack_status() {
  aws_rds describe-db-cluster-backtracks --db-cluster-identifier "$1" \
    --query 'DBClusterBacktracks[].[BacktrackTo,Status]' --output text |
    while read -r to status; do
      if [ "$(date -u -d "$to" +%s)" = "$2" ]; then echo "$status"; fi
    done
}

# mariadbd_of CLUSTER: the pid of the cluster's mariadbd if one of this run's is running (its
# pid file, checked against the process's command line), else nothing.
mariadbd_of() {
  local f="$DATA/run/$1/mariadbd/mariadbd.pid" pid
  [ -f "$f" ] || return 0
  pid=$(cat "$f" 2>/dev/null) || return 0
  tr '\0' ' ' 2>/dev/null < "/proc/$pid/cmdline" |
    grep -q -- "--defaults-file=$DATA/run/$1/" && echo "$pid"
  return 0
}

# assert_restarted_by_rewindd CLUSTER OLD_PID: the cluster's mariadbd is a new process (not
# OLD_PID, which is gone) and a child of the running rewindd: its engine supervisor started it.
assert_restarted_by_rewindd() {
  local new; new=$(mariadbd_of "$1")
  [ -n "$new" ] || die "no mariadbd of $1 runs"
  [ "$new" != "$2" ] || die "$1's mariadbd is still the old one ($2)"
  # Killed, it may linger a moment as a zombie until init reaps it: that is not running.
  local state=""
  for _ in $(seq 1 50); do
    state=$(awk '{ sub(/^.*\) /, ""); print $1 }' "/proc/$2/stat" 2>/dev/null) || state=""
    case "$state" in ""|Z|X) break ;; esac
    sleep 0.2
  done
  case "$state" in ""|Z|X) ;; *) die "$1's old mariadbd $2 still runs (state $state)" ;; esac
  [ "$(awk '{ sub(/^.*\) /, ""); print $2 }' "/proc/$new/stat")" = "$REWINDD_PID" ] ||
    die "$1's mariadbd $new was not started by rewindd ($REWINDD_PID)"
}

# e2e_mounts: this run's mounts ("mountpoint type"), sorted.
e2e_mounts() {
  awk -v d="$E2E_DIR/" 'index($2, d) == 1 { print $2, $3 }' /proc/mounts | sort
}

# e2e_processes: the running rewindd and every process under it, and every process whose command
# line names this run's directory, one line each ("[orphan] command line"), without pids, sorted.
# A process that names the run but is not under rewindd is marked "orphan".
e2e_processes() {
  local pid ppid cmd up
  declare -A parent=()
  for d in /proc/[0-9]*; do
    pid=${d#/proc/}
    ppid=$(awk '{ sub(/^.*\) /, ""); print $2 }' "$d/stat" 2>/dev/null) || continue
    [ -n "$ppid" ] && parent[$pid]=$ppid
  done
  for pid in "${!parent[@]}"; do
    cmd=$(tr '\0' ' ' 2>/dev/null < "/proc/$pid/cmdline") || continue
    # A reloaded haproxy (a reader endpoint) names the pid it replaced: not part of its identity.
    cmd=$(sed -E 's/ -sf [0-9]+ $/ /' <<<"$cmd")
    up=$pid
    while [ -n "$up" ] && [ "$up" != 1 ] && [ "$up" != 0 ] && [ "$up" != "$REWINDD_PID" ]; do
      up=${parent[$up]:-}
    done
    if [ -n "$REWINDD_PID" ] && [ "$up" = "$REWINDD_PID" ]; then
      echo "$cmd"
    elif [[ $cmd == *"$E2E_DIR/"* ]]; then
      echo "orphan $cmd"
    fi
  done | sort
}

# assert_cluster_gone ID [PID…]: the cluster is deleted for good: DescribeDBClusters answers
# DBClusterNotFoundFault, its mount and run dir are gone, no mariadbd of it runs, and the PIDs
# given (its mariadbd's before the deletion) are gone.
assert_cluster_gone() {
  local id=$1; shift
  expect_aws_error DBClusterNotFoundFault describe-db-clusters --db-cluster-identifier "$id"
  awk -v m="$DATA/mnt/$id" '$2 == m { found = 1 } END { exit !found }' /proc/mounts &&
    die "cluster $id is deleted but $DATA/mnt/$id is still mounted"
  [ -z "$(mariadbd_of "$id")" ] || die "cluster $id is deleted but its mariadbd $(mariadbd_of "$id") runs"
  [ ! -e "$DATA/run/$id" ] || die "cluster $id is deleted but its run dir $DATA/run/$id is left"
  for pid in "$@"; do
    [ -d "/proc/$pid" ] && die "cluster $id is deleted but its mariadbd (pid $pid) still runs"
  done
  return 0
}

# wait_cluster_gone ID: until DescribeDBClusters no longer knows ID (up to 120 s).
wait_cluster_gone() {
  for _ in $(seq 1 600); do
    rds_query DescribeDBClusters DBClusterIdentifier="$1" | grep -q '<Code>DBClusterNotFoundFault</Code>' &&
      return 0
    sleep 0.2
  done
  die "cluster $1 is still there 120 s after its deletion (is $(status_of "$1"))"
}
# wait_instance_gone ID: until DescribeDBInstances answers DBInstanceNotFound (up to 120 s).
wait_instance_gone() {
  local out
  for _ in $(seq 1 600); do
    out=$(rds_query DescribeDBInstances DBInstanceIdentifier="$1" 2>&1)
    grep -q '<Code>DBInstanceNotFound</Code>' <<<"$out" && return 0
    grep -q '<DescribeDBInstancesResponse' <<<"$out" || die "DescribeDBInstances $1 failed: $out"
    sleep 0.2
  done
  die "instance $1 is still there 120 s after its deletion"
}
