# Shared harness for the MariaDB-on-Rewind acceptance tests (and bench/sysbench_fuse.sh):
# rewind-mount daemons (separate processes), stock mariadbd servers,
# sysbench, and a checker client that records every acknowledged insert.
#
# Usage: REWIND_MOUNT=/path/to/rewind-mount; source lib.sh; int_setup NAME
#
# Rules it enforces: only 127.0.0.1; processes are started here and stopped by PID only (a
# mariadbd's /proc/PID/cmdline is checked before it is killed); every exit path (success,
# failure, signal) stops what was started, unmounts what was mounted (lazily if need be) and
# removes the temp dir. If /dev/fuse is missing or a mount fails, the test FAILS (never skips).
# Tests run in a private mount namespace (re-exec under `unshare -m`), so that no mount of
# theirs can ever be seen from, or outlive them in, the host's namespace.
set -euo pipefail

MARIADBD=${MARIADBD:-/usr/sbin/mariadbd}
INSTALL_DB=${INSTALL_DB:-/usr/bin/mariadb-install-db}
MARIADB=${MARIADB:-/usr/bin/mariadb}
SYSBENCH=${SYSBENCH:-/usr/bin/sysbench}
# Settings every mariadbd here gets (tests and benchmark alike).
MDB_BUFFER_POOL=${MDB_BUFFER_POOL:-256M}
# The user mariadbd runs as (mariadbd --user): root by default here; the bench runs it as the
# engine user rewindd uses (bench/sysbench_fuse.sh --engine-user).
MDB_USER=${INT_MDB_USER:-root}
ROOT_PW=${ROOT_PW:-"Rw-int-$RANDOM$RANDOM"}

INT_DIR=""
declare -A DAEMON_PID=() DAEMON_MNT=() DAEMON_OUT=() DAEMON_LOG=() DAEMON_CTL=()
declare -A MDB_PID=() MDB_PORT=() MDB_DATADIR=() MDB_RUN=()
BG_PIDS=()
T0=$(date +%s.%N)

log() { printf '[%6.1fs] %s\n' "$(echo "$(date +%s.%N) - $T0" | bc)" "$*" >&2; }
# since T: seconds since T (a `date +%s.%N` value), 2 decimals.
since() { printf '%.2f' "$(echo "$(date +%s.%N) - $1" | bc)"; }
die() {
  log "FAIL: $*"
  exit 1
}

# Re-executes the calling script in a private mount namespace (once).
int_private_ns() {
  if [ -z "${RWD_INT_PRIVATE_NS:-}" ]; then
    export RWD_INT_PRIVATE_NS=1
    exec unshare --mount --propagation private -- bash "$0" "$@"
  fi
}

# int_setup NAME: checks the prerequisites, makes the temp dir and installs the cleanup trap.
int_setup() {
  [ -n "${REWIND_MOUNT:-}" ] && [ -x "$REWIND_MOUNT" ] || die "REWIND_MOUNT is not an executable: '${REWIND_MOUNT:-}'"
  [ -c /dev/fuse ] || die "/dev/fuse is missing: Rewind cannot mount, so this test fails"
  for b in "$MARIADBD" "$INSTALL_DB" "$MARIADB" "$SYSBENCH" bc fusermount3; do
    command -v "$b" >/dev/null || die "missing $b"
  done
  INT_DIR=$(mktemp -d "${INT_TMP:-/tmp}/rwd-$1-XXXXXX")
  chmod 700 "$INT_DIR"
  if [ "$MDB_USER" != root ]; then
    id "$MDB_USER" >/dev/null 2>&1 || die "INT_MDB_USER: no user named '$MDB_USER'"
    chmod 711 "$INT_DIR"  # mariadbd, as MDB_USER, crosses it to its datadir and run dir
  fi
  trap int_cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  log "temp dir $INT_DIR"
}

# True if PID exists and is not a zombie.
alive() {
  local state
  state=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 1
  [ -n "$state" ] && [ "$state" != Z ]
}

# wait_gone PID SECONDS: waits until PID has exited (does not reap: `wait PID` for its status).
wait_gone() {
  local pid=$1 n=$(($2 * 10))
  for _ in $(seq 1 "$n"); do
    alive "$pid" || return 0
    sleep 0.1
  done
  return 1
}

# is_ours PID PATTERN: PID's command line matches PATTERN (checked before signalling a pid).
is_ours() { tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null | grep -q -- "$2"; }

is_mounted() { awk -v m="$1" '$2 == m { found = 1 } END { exit !found }' /proc/self/mounts; }

int_cleanup() {
  local rc=$?
  set +e
  trap - EXIT INT TERM
  for pid in "${BG_PIDS[@]}"; do
    alive "$pid" && kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
  done
  for name in "${!MDB_PID[@]}"; do
    local pid=${MDB_PID[$name]}
    [ -n "$pid" ] || continue
    if alive "$pid" && is_ours "$pid" "mariadbd.*--datadir=${MDB_DATADIR[$name]} "; then
      kill -KILL "$pid"
      wait_gone "$pid" 30 || log "cleanup: mariadbd $pid did not exit"
    fi
    wait "$pid" 2>/dev/null
  done
  for name in "${!DAEMON_PID[@]}"; do
    local pid=${DAEMON_PID[$name]}
    [ -n "$pid" ] || continue
    if alive "$pid" && is_ours "$pid" "rewind-mount.*--control $INT_DIR/"; then
      kill -TERM "$pid"
      wait_gone "$pid" 20 || { kill -KILL "$pid"; wait_gone "$pid" 10; }
    fi
    wait "$pid" 2>/dev/null
  done
  if [ -n "$INT_DIR" ]; then
    # Whatever is still mounted under our dir (a killed daemon's dead mount, a busy one).
    awk -v d="$INT_DIR/" 'index($2, d) == 1 { print $2 }' /proc/self/mounts | sort -r |
      while read -r m; do fusermount3 -u -z "$m" 2>/dev/null || umount -l "$m"; done
    if [ $rc -ne 0 ]; then
      for f in "$INT_DIR"/*.log "$INT_DIR"/*/mariadbd.err; do
        [ -f "$f" ] || continue
        echo "---- $f (tail) ----" >&2
        tail -n 25 "$f" >&2
      done
    fi
    if [ -n "${INT_KEEP:-}" ]; then log "kept $INT_DIR"; else rm -rf "$INT_DIR"; fi
  fi
  [ $rc -eq 0 ] && log "PASS" || log "exit $rc"
  exit $rc
}

source "$(dirname "${BASH_SOURCE[0]}")/../free_port.sh"

# ---------------------------------------------------------------- rewind-mount daemons

# daemon_start NAME STORE_DIR MOUNTPOINT [rewind-mount args...]: starts rewind-mount with a
# control FIFO and waits until the mount is up. Fails the test if it is not.
daemon_start() {
  local name=$1 store=$2 mnt=$3
  shift 3
  mkdir -p "$mnt"
  local out="$INT_DIR/$name.daemon.out" logf="$INT_DIR/$name.daemon.log" ctl="$INT_DIR/$name.ctl"
  : >"$out"
  "$REWIND_MOUNT" --store "$store" --control "$ctl" "$@" "$mnt" >"$out" 2>>"$logf" &
  local pid=$!
  DAEMON_PID[$name]=$pid DAEMON_MNT[$name]=$mnt DAEMON_OUT[$name]=$out DAEMON_LOG[$name]=$logf
  DAEMON_CTL[$name]=$ctl
  for _ in $(seq 1 300); do
    if grep -q '^timeline ' "$out"; then
      is_mounted "$mnt" || die "rewind-mount $name says it mounted $mnt, but it is not mounted"
      log "rewind-mount $name (pid $pid): $(head -n1 "$out") at $mnt"
      return 0
    fi
    alive "$pid" || { wait "$pid"; die "rewind-mount $name exited at start: $(tail -n 3 "$logf")"; }
    sleep 0.1
  done
  die "rewind-mount $name did not mount $mnt in 30 s"
}

# daemon_ctl NAME COMMAND: sends one control command; prints the reply line; fails on "error".
daemon_ctl() {
  local name=$1 cmd=$2 out=${DAEMON_OUT[$1]} before
  before=$(wc -l <"$out")
  echo "$cmd" >"${DAEMON_CTL[$name]}"
  for _ in $(seq 1 600); do
    if [ "$(wc -l <"$out")" -gt "$before" ]; then
      local reply
      reply=$(sed -n "$((before + 1))p" "$out")
      [[ "$reply" == error* ]] && die "rewind-mount $name: '$cmd': $reply"
      echo "$reply"
      return 0
    fi
    alive "${DAEMON_PID[$name]}" || die "rewind-mount $name died during '$cmd'"
    sleep 0.05
  done
  die "rewind-mount $name: no reply to '$cmd'"
}

# daemon_stop NAME: SIGTERM (clean unmount, store closed); fails if it does not exit cleanly.
daemon_stop() {
  local name=$1 pid=${DAEMON_PID[$1]} rc=0
  is_ours "$pid" "rewind-mount" || die "pid $pid is not rewind-mount"
  kill -TERM "$pid"
  wait_gone "$pid" 60 || die "rewind-mount $name did not exit after SIGTERM"
  wait "$pid" || rc=$?
  DAEMON_PID[$name]=""
  [ "$rc" -eq 0 ] || die "rewind-mount $name exited with $rc: $(tail -n 3 "${DAEMON_LOG[$name]}")"
  ! is_mounted "${DAEMON_MNT[$name]}" || die "${DAEMON_MNT[$name]} still mounted after rewind-mount exited"
  log "rewind-mount $name stopped: $(grep -E "store:|: exit |sync latency" "${DAEMON_LOG[$name]}" | tail -n3 | tr "\n" " ")"
}

# ---------------------------------------------------------------- mariadbd

client_cnf() { echo "$INT_DIR/client.cnf"; }

write_client_cnf() {
  local pw=$1
  umask 077
  printf '[client]\nuser=root\npassword=%s\nhost=127.0.0.1\nprotocol=tcp\n' "$pw" >"$(client_cnf)"
  umask 022
}

# mdb_start NAME DATADIR PORT [extra mariadbd options...]: starts mariadbd (all but its data
# outside the datadir) and waits until root logs in over TCP.
mdb_start() {
  local name=$1 datadir=$2 port=$3
  shift 3
  local run="$INT_DIR/$name"
  mkdir -p "$run/tmp"
  [ "$MDB_USER" = root ] || chown -R "$MDB_USER:" "$run"
  [ -f "$(client_cnf)" ] || write_client_cnf ""
  "$MARIADBD" --no-defaults --user="$MDB_USER" --datadir="$datadir" --socket="$run/sock" --port="$port" \
    --bind-address=127.0.0.1 --pid-file="$run/pid" --log-error="$run/mariadbd.err" --tmpdir="$run/tmp" \
    --innodb-buffer-pool-size="$MDB_BUFFER_POOL" --default-time-zone=+00:00 "$@" \
    </dev/null >>"$run/out" 2>&1 &
  local pid=$!
  MDB_PID[$name]=$pid MDB_PORT[$name]=$port MDB_DATADIR[$name]=$datadir MDB_RUN[$name]=$run
  local t=$(date +%s.%N)
  for _ in $(seq 1 1800); do
    if "$MARIADB" --defaults-file="$(client_cnf)" -P "$port" -N -B -e 'SELECT 1' >/dev/null 2>&1; then
      log "mariadbd $name (pid $pid) up on 127.0.0.1:$port after $(since "$t") s"
      return 0
    fi
    alive "$pid" || { wait "$pid" || true; die "mariadbd $name exited at start: $(tail -n 5 "$run/mariadbd.err")"; }
    sleep 0.1
  done
  die "mariadbd $name not ready in 180 s"
}

# mdb_install NAME DATADIR PORT: a new database, started, root password set to ROOT_PW.
mdb_install() {
  local name=$1 datadir=$2 port=$3
  shift 3
  local t=$(date +%s.%N)
  [ "$MDB_USER" = root ] || chown "$MDB_USER:" "$datadir"
  "$INSTALL_DB" --no-defaults --user="$MDB_USER" --datadir="$datadir" \
    --auth-root-authentication-method=normal --skip-test-db >"$INT_DIR/$name.install.log" 2>&1 ||
    die "mariadb-install-db failed: $(tail -n 5 "$INT_DIR/$name.install.log")"
  log "mariadb-install-db on $datadir: $(since "$t") s"
  write_client_cnf ""
  mdb_start "$name" "$datadir" "$port" "$@"
  sql "$name" "ALTER USER IF EXISTS root@localhost IDENTIFIED BY '$ROOT_PW';
    ALTER USER IF EXISTS root@'127.0.0.1' IDENTIFIED BY '$ROOT_PW';
    ALTER USER IF EXISTS root@'::1' IDENTIFIED BY '$ROOT_PW';
    ALTER USER IF EXISTS root@'$(hostname)' IDENTIFIED BY '$ROOT_PW';
    CREATE DATABASE sbtest; CREATE DATABASE rwd;"
  write_client_cnf "$ROOT_PW"
}

# The pid is mariadbd serving this datadir (checked before any signal).
mdb_check_pid() {
  local name=$1 pid=${MDB_PID[$1]}
  [ -n "$pid" ] || die "mariadbd $name: no pid"
  is_ours "$pid" "mariadbd.*--datadir=${MDB_DATADIR[$name]} " ||
    die "pid $pid is not mariadbd on ${MDB_DATADIR[$name]}"
}

# mdb_stop NAME: clean shutdown (SIGTERM); fails if it takes more than 120 s.
mdb_stop() {
  local name=$1 pid=${MDB_PID[$1]}
  mdb_check_pid "$name"
  kill -TERM "$pid"
  wait_gone "$pid" 120 || die "mariadbd $name did not shut down in 120 s"
  local rc=0
  wait "$pid" || rc=$?
  MDB_PID[$name]=""
  [ "$rc" -eq 0 ] || die "mariadbd $name exited with $rc at shutdown: $(tail -n 5 "${MDB_RUN[$name]}/mariadbd.err")"
  log "mariadbd $name stopped"
}


# sql NAME STATEMENTS: batch output (tab-separated, no header).
sql() {
  "$MARIADB" --defaults-file="$(client_cnf)" -P "${MDB_PORT[$1]}" -N -B -e "$2"
}

# check_table NAME DB.TABLE: fails unless CHECK TABLE ... EXTENDED says OK.
check_table() {
  local out
  out=$(sql "$1" "CHECK TABLE $2 EXTENDED") || die "CHECK TABLE $2 on $1 failed to run"
  echo "$out" | awk -F'\t' '$3 == "status" { s = $4 } END { exit !(s == "OK") }' ||
    die "CHECK TABLE $2 on $1: $out"
  log "CHECK TABLE $2 on $1: OK"
}

# ---------------------------------------------------------------- load

# sb NAME WORKLOAD COMMAND [sysbench args...]
sb() {
  local name=$1 workload=$2 cmd=$3
  shift 3
  "$SYSBENCH" "$workload" --db-driver=mysql --mysql-host=127.0.0.1 --mysql-port="${MDB_PORT[$name]}" \
    --mysql-user=root --mysql-password="$ROOT_PW" --mysql-db=sbtest --tables=1 "$@" "$cmd"
}

# checker_start NAME TABLE ACKFILE: one client inserting 1, 2, 3, … into TABLE (seq INT PRIMARY
# KEY), autocommit; ACKFILE gets each number once its INSERT was acknowledged (the client prints
# `SELECT n` only after `INSERT n` returned OK; batch mode stops at the first error).
checker_start() {
  local name=$1 table=$2 ack=$3 fifo="$INT_DIR/checker.$RANDOM.fifo"
  sql "$name" "CREATE TABLE IF NOT EXISTS $table (seq INT PRIMARY KEY, at TIMESTAMP(6) DEFAULT NOW(6)) ENGINE=InnoDB"
  mkfifo "$fifo"
  "$MARIADB" --defaults-file="$(client_cnf)" -P "${MDB_PORT[$name]}" -n -N -B <"$fifo" >"$ack" 2>"$ack.err" &
  BG_PIDS+=($!)
  CHECKER_CLIENT_PID=$!
  (
    trap '' PIPE
    for ((i = 1; ; i++)); do
      echo "INSERT INTO $table (seq) VALUES ($i); SELECT $i;" || exit 0
    done >"$fifo"
  ) &
  BG_PIDS+=($!)
  CHECKER_FEEDER_PID=$!
}

checker_stop() {
  for pid in "$CHECKER_CLIENT_PID" "$CHECKER_FEEDER_PID"; do
    alive "$pid" && kill -KILL "$pid" 2>/dev/null
    wait_gone "$pid" 10 || true
    wait "$pid" 2>/dev/null || true
  done
  return 0
}

# last_ack ACKFILE: the highest acknowledged number (0 if none).
# A last line without its newline yet is not counted.
last_ack() {
  local f=$1
  if [ -s "$f" ] && [ "$(tail -c 1 "$f" | od -An -tx1 | tr -d ' ')" != 0a ]; then
    tail -n 2 "$f" | head -n 1
  else
    tail -n 1 "$f" 2>/dev/null
  fi | grep -E '^[0-9]+$' || echo 0
}
