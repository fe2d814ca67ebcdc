#!/usr/bin/env bash
# A cluster is a tenant, not a key to the host (issue 14), proven with the real tools: a real
# rewindd (as root), a cluster made with the real aws CLI, and the real mysql client over TCP.
#  - mariadbd never runs as root (its uids from /proc);
#  - everything under the data dir is private (find -perm), and an older, looser data dir is
#    made private again at the next start;
#  - only root and the engine user may use a cluster's mount (nobody cannot list it, even
#    through a bind mount that bypasses the data dir's own modes);
#  - the master user cannot reach the host or the server's settings: each refusal with the
#    server's own error, the cluster serving afterwards; and it can still do its job: databases,
#    users, grants, KILL QUERY of its users' queries;
#  - a wider grant (older versions' ALL ON *.*) is narrowed at the next start;
#  - rewindd refuses a data dir the engine user cannot reach, naming the directory.
source "$(dirname "$0")/lib.sh"
MASTER_PASSWORD="Sec-pass-$RANDOM"
ENGINE_USER=mysql
[ "$(id -u)" = 0 ] || die "must run as root: it checks that mariadbd is switched to $ENGINE_USER"
getent passwd "$ENGINE_USER" >/dev/null || die "no $ENGINE_USER user (scripts/setup.sh makes it)"
ENGINE_UID=$(id -u "$ENGINE_USER")
ENGINE_GROUP=$(id -gn "$ENGINE_USER")
command -v setpriv >/dev/null || die "setpriv (util-linux) is missing"

as_user() {  # as_user USER cmd...: runs cmd as USER with only USER's groups
  local user=$1; shift
  setpriv --reuid="$user" --regid="$(id -g "$user")" --init-groups -- "$@"
}
wait_sql() {
  for _ in $(seq 1 300); do sql "$1" "SELECT 1" >/dev/null 2>&1 && return 0; sleep 0.2; done
  die "$1 does not answer SQL"
}
# msql "statements": as the master user over TCP at the cluster's endpoint (looked up once).
msql() { mysql -h "$HOST" -P "$PORT" -u masteruser -p"$MASTER_PASSWORD" -N -B mylab -e "$1"; }
# refused CODE SQL: the master's statement fails with the server's error CODE, over TCP.
refused() {
  local code=$1 out rc=0
  out=$(msql "$2" 2>&1) || rc=$?
  [ $rc -ne 0 ] || die "accepted, expected ERROR $code: $2 => $out"
  echo "$out" | grep -q "^ERROR $code " || die "expected ERROR $code for: $2; got: $out"
  log "refused: $2 => $(echo "$out" | grep "^ERROR")"
  [ "$(msql "SELECT 1")" = 1 ] || die "the cluster stopped serving after: $2"
}
mariadbd_pid() { cat "$DATA/run/sec/mariadbd/mariadbd.pid"; }
# check_modes: every file under DATA 0600 (my.cnf 0640 root:engine group), every directory 0700
# but the few the engine user traverses (0710 root:engine group); nothing for others; the
# engine user owns only its cluster's mariadbd/ directory, its mount and its TLS directory.
check_modes() {
  local bad
  bad=$(find "$DATA" -xdev -perm /o=rwx -printf '%m %u:%g %p\n')
  [ -z "$bad" ] || die "world-accessible under $DATA:"$'\n'"$bad"
  bad=$(find "$DATA" -xdev -type f ! -perm 0600 ! -path "$DATA/run/*/my.cnf" -printf '%m %u:%g %p\n')
  [ -z "$bad" ] || die "files not 0600 under $DATA:"$'\n'"$bad"
  bad=$(find "$DATA"/run/*/my.cnf ! \( -perm 0640 -user root -group "$ENGINE_GROUP" \) -printf '%m %u:%g %p\n')
  [ -z "$bad" ] || die "my.cnf not 0640 root:$ENGINE_GROUP:"$'\n'"$bad"
  bad=$(find "$DATA" -xdev -type d ! -perm 0700 -printf '%m %u:%g %p\n' |
        grep -v -E "^710 root:$ENGINE_GROUP ($DATA|$DATA/mnt|$DATA/run|$DATA/run/[^/]+|$DATA/tls|$DATA/tls/clusters)\$" || true)
  [ -z "$bad" ] || die "directories neither 0700 nor 0710 root:$ENGINE_GROUP on the engine's path:"$'\n'"$bad"
  bad=$(find "$DATA" -xdev ! -user root -printf '%m %u:%g %p\n' |
        grep -v -E "^[0-7]+ $ENGINE_USER:$ENGINE_GROUP ($DATA/run/[^/]+/mariadbd(/.*)?|$DATA/mnt/[^/]+|$DATA/tls/clusters/[^/]+(/.*)?)\$" || true)
  [ -z "$bad" ] || die "owned by someone else than root, outside the engine's own files:"$'\n'"$bad"
  log "modes: $(find "$DATA" -xdev | wc -l) entries under $DATA, all private"
}

# Runs with a permissive umask: rewindd's modes must not depend on it.
umask 000
e2e_start
umask 022
create_cluster_with_writer sec 3600
wait_sql sec
HOST=$(cluster_field sec Endpoint); PORT=$(cluster_field sec Port)

log "mariadbd's owner, from /proc"
PID=$(mariadbd_pid)
tr '\0' ' ' <"/proc/$PID/cmdline" | grep -q -- "--defaults-file=$DATA/run/sec/my.cnf" ||
  die "pid $PID is not the cluster's mariadbd"
read -r _ RUID EUID_ SUID FSUID < <(grep '^Uid:' "/proc/$PID/status")
[ "$RUID $EUID_ $SUID $FSUID" = "$ENGINE_UID $ENGINE_UID $ENGINE_UID $ENGINE_UID" ] ||
  die "mariadbd runs with uids $RUID $EUID_ $SUID $FSUID, not $ENGINE_USER ($ENGINE_UID)"
for p in $(pgrep -f -- "--defaults-file=$E2E_DIR/" || true); do
  [ "$(stat -c %u "/proc/$p")" != 0 ] || die "a mariadbd of this run (pid $p) runs as root"
done
log "mariadbd (pid $PID) runs as $ENGINE_USER (uid $ENGINE_UID), none as root"

log "file modes under the data dir"
check_modes

log "the mount admits only root and $ENGINE_USER"
if out=$(as_user nobody ls "$DATA/mnt/sec" 2>&1); then die "nobody could list the mount: $out"; fi
log "nobody: ls $DATA/mnt/sec => $out"
as_user "$ENGINE_USER" ls "$DATA/mnt/sec" | grep -qx mylab || die "$ENGINE_USER cannot list its mount"
# Past the data dir's modes: the same mount bound where anyone may walk; the FUSE admission
# check alone must refuse nobody.
PEEK="$E2E_DIR/peek"
mkdir -p "$PEEK" && chmod 0755 "$PEEK"
mount --bind "$DATA/mnt/sec" "$PEEK"
e2e_test_cleanup() { mountpoint -q "$PEEK" 2>/dev/null && umount -l "$PEEK"; }
if out=$(as_user nobody ls "$PEEK" 2>&1); then die "nobody listed the mount through a bind: $out"; fi
echo "$out" | grep -q "Permission denied" || die "expected EACCES for nobody, got: $out"
as_user nobody cat "$PEEK/ibdata1" >/dev/null 2>&1 && die "nobody read ibdata1 through a bind"
as_user "$ENGINE_USER" ls "$PEEK" | grep -qx mylab || die "$ENGINE_USER cannot list the bound mount"
umount "$PEEK"
log "nobody gets EACCES from the mount itself; $ENGINE_USER is admitted"

log "what the master user cannot reach, through mysql over TCP"
OUTFILE="/tmp/rewind-sec-outfile-$$"
refused 1227 "SELECT 'x' INTO OUTFILE '$OUTFILE'"
[ ! -e "$OUTFILE" ] || { rm -f "$OUTFILE"; die "INTO OUTFILE wrote $OUTFILE"; }
[ "$(msql "SELECT LOAD_FILE('/etc/passwd') IS NULL")" = 1 ] || die "LOAD_FILE read /etc/passwd"
log "LOAD_FILE('/etc/passwd') is NULL"
refused 1227 "SET GLOBAL general_log_file='/tmp/rewind-sec-general-$$.log'"
refused 1227 "SHUTDOWN"
refused 1142 "INSTALL SONAME 'ha_connect'"
refused 1142 "INSTALL SONAME 'ha_federatedx'"
refused 1142 "UPDATE mysql.global_priv SET Priv='{}' WHERE User='root'"
refused 1045 "GRANT FILE ON *.* TO masteruser"
# DATA DIRECTORY: with symbolic links off the server ignores it (its warning 1618) and the table
# stays in the datadir; nothing appears in /tmp.
rm -rf /tmp/mylab 2>/dev/null || true
out=$(msql "CREATE TABLE dd (i INT) DATA DIRECTORY='/tmp'; SHOW WARNINGS")
echo "$out" | grep -q "1618" || die "DATA DIRECTORY not refused: $out"
[ ! -e /tmp/mylab ] || die "DATA DIRECTORY created /tmp/mylab"
log "DATA DIRECTORY='/tmp' => $(echo "$out" | tr '\t' ' ')"
SFP=$(msql "SELECT @@secure_file_priv")
[ "$SFP" = "$DATA/run/sec/mariadbd/files/" ] || die "secure_file_priv is '$SFP'"
[ "$(stat -c '%a %U' "$SFP")" = "700 $ENGINE_USER" ] || die "$SFP is not private to $ENGINE_USER"
[ "$(msql "SELECT @@have_symlink")" = DISABLED ] || die "symbolic links are on"
log "secure_file_priv=$SFP (0700 $ENGINE_USER), symbolic links disabled"

log "what the master user can do"
msql "CREATE DATABASE shop; CREATE TABLE shop.t (i INT PRIMARY KEY); INSERT INTO shop.t VALUES (1)"
msql "CREATE USER app@'%' IDENTIFIED BY 'App-pass-1'; GRANT SELECT, INSERT ON shop.* TO app@'%'"
app() { mysql -h "$HOST" -P "$PORT" -u app -pApp-pass-1 -N -B shop -e "$1"; }
app "INSERT INTO t VALUES (2)"
[ "$(msql "SELECT COUNT(*) FROM shop.t")" = 2 ] || die "app's insert is missing"
app "SELECT SLEEP(60)" >"$E2E_DIR/sleep.out" 2>&1 &
SLEEPER=$!
E2E_BG_PIDS+=("$SLEEPER")
ID=""
for _ in $(seq 1 100); do
  ID=$(msql "SELECT ID FROM information_schema.PROCESSLIST WHERE USER='app' AND INFO LIKE 'SELECT SLEEP%'")
  [ -n "$ID" ] && break
  sleep 0.1
done
[ -n "$ID" ] || die "app's query never showed in the processlist"
msql "KILL QUERY $ID"
wait "$SLEEPER" || true
grep -q "ERROR 1317" "$E2E_DIR/sleep.out" || die "app's query was not killed: $(cat "$E2E_DIR/sleep.out")"
log "master: CREATE DATABASE, CREATE USER, GRANT, and KILL QUERY of app's query ($(head -n1 "$E2E_DIR/sleep.out"))"

log "an older, wider grant is narrowed at the next start"
ROOT_PW=$(cat "$DATA/run/sec/root.password")
printf '[client]\nuser=root\npassword=%s\nsocket=%s\n' "$ROOT_PW" "$DATA/mnt/sec/mysqld.sock" \
  >"$E2E_DIR/root.cnf"
chmod 600 "$E2E_DIR/root.cnf"
mysql --defaults-file="$E2E_DIR/root.cnf" -e "GRANT ALL PRIVILEGES ON *.* TO masteruser@'%' WITH GRANT OPTION"
msql "SHOW GRANTS" | grep -q "GRANT ALL PRIVILEGES ON \*\.\*" || die "the old grant did not take"
mysql --defaults-file="$E2E_DIR/root.cnf" -e "FLUSH TABLES"  # the grant tables' pages to the volume
sleep 1.1
T_WIDE=$(date -u +%Y-%m-%dT%H:%M:%SZ)  # a moment when the master had ALL ON *.*
sleep 1.1
T0=$(date +%s.%N)
aws_rds reboot-db-instance --db-instance-identifier sec-1 >/dev/null
sleep 0.5
wait_instance sec-1
wait_sql sec
log "reboot to serving: $(awk -v a="$(date +%s.%N)" -v b="$T0" 'BEGIN { printf "%.2f", a - b }') s"
GRANTS=$(msql "SHOW GRANTS")
if echo "$GRANTS" | grep -q "ALL PRIVILEGES ON \*\.\*"; then die "ALL ON *.* survived a restart: $GRANTS"; fi
refused 1227 "SELECT 'x' INTO OUTFILE '$OUTFILE'"

log "a copy-on-write clone of the moment the master had ALL ON *.* is narrowed too"
aws_rds restore-db-cluster-to-point-in-time --source-db-cluster-identifier sec \
  --db-cluster-identifier sec-clone --restore-type copy-on-write --restore-to-time "$T_WIDE" >/dev/null
wait_available sec-clone
aws_rds create-db-instance --db-instance-identifier sec-clone-1 --db-cluster-identifier sec-clone \
  --engine aurora-mysql --db-instance-class db.r5.large >/dev/null
wait_instance sec-clone-1
wait_sql sec-clone
CPID=$(cat "$DATA/run/sec-clone/mariadbd/mariadbd.pid")
[ "$(awk '/^Uid:/ {print $2 $3 $4 $5}' "/proc/$CPID/status")" = "$ENGINE_UID$ENGINE_UID$ENGINE_UID$ENGINE_UID" ] ||
  die "the clone's mariadbd does not run as $ENGINE_USER"
if sql sec-clone "SHOW GRANTS" | grep -q "ALL PRIVILEGES ON \*\.\*"; then
  die "the clone's master kept ALL ON *.*"
fi
if out=$(as_user nobody ls "$DATA/mnt/sec-clone" 2>&1); then die "nobody listed the clone's mount: $out"; fi
check_modes

log "a data dir left by an older version (root-owned, 0755/0644) is made private and works"
e2e_stop TERM
chown -R root:root "$DATA/run"
find "$DATA" -xdev -type d -exec chmod 0755 {} +
find "$DATA" -xdev -type f -exec chmod 0644 {} +
e2e_start
wait_instance sec-1
wait_sql sec
[ "$(msql "SELECT COUNT(*) FROM shop.t")" = 2 ] || die "data lost across the restart"
check_modes

log "rewindd refuses a data dir the engine user cannot reach"
CLOSED="$E2E_DIR/closed"
mkdir -p "$CLOSED" && chmod 0700 "$CLOSED"
rc=0
out=$(timeout 60 "$REWINDD" --data-dir "$CLOSED/data" --listen "127.0.0.1:$(free_port)" \
        --first-port "$(free_port)" 2>&1) || rc=$?
[ $rc -eq 1 ] || die "rewindd on $CLOSED/data exited $rc, expected 1: $out"
echo "$out" | grep -q "directory $CLOSED " || die "the refusal does not name $CLOSED: $out"
log "refused: $(echo "$out" | tail -n1 | cut -c1-240)"

log "PASS"
