#!/usr/bin/env bash
# A cluster is a tenant, not a key to the host (issue 14), proven with the real tools: a real
# rewindd (as root), a cluster made with the real aws CLI, and the real mysql client over TCP.
#  - mariadbd never runs as root (its uids from /proc), and each cluster's runs as a uid of its
#    own (no passwd entry, group mysql): a cluster and its clone run as different uids;
#  - everything under the data dir is private (find -perm), and an older, looser data dir is
#    made private again at the next start;
#  - only root and the cluster's own uid may use its mount (nobody, mysql and the other
#    cluster's uid cannot list it, even through a bind mount that bypasses the data dir's modes);
#  - the master user cannot reach the host or the server's settings: each refusal with the
#    server's own error, the cluster serving afterwards; and it can still do its job: databases,
#    users, grants, KILL QUERY of its users' queries;
#  - a wider grant (older versions' ALL ON *.*) is narrowed at the next start;
#  - a master who takes over its own server's root account (ALTER USER root) and points
#    general_log_file into the other cluster's mariadbd/ directory or mount writes nothing there;
#  - rewindd refuses a data dir the engine user cannot reach, naming the directory.
source "$(dirname "$0")/lib.sh"
MASTER_PASSWORD="Sec-pass-$RANDOM"
ENGINE_USER=mysql
[ "$(id -u)" = 0 ] || die "must run as root: it checks that mariadbd is switched to $ENGINE_USER"
getent passwd "$ENGINE_USER" >/dev/null || die "no $ENGINE_USER user (scripts/setup.sh makes it)"
ENGINE_UID=$(id -u "$ENGINE_USER")
ENGINE_GROUP=$(id -gn "$ENGINE_USER")
ENGINE_GID=$(id -g "$ENGINE_USER")
UID_BASE=2100000000  # rewindd's default --engine-uid-base
command -v setpriv >/dev/null || die "setpriv (util-linux) is missing"

as_user() {  # as_user USER cmd...: runs cmd as USER with only USER's groups
  local user=$1; shift
  setpriv --reuid="$user" --regid="$(id -g "$user")" --init-groups -- "$@"
}
as_uid() {  # as_uid UID cmd...: runs cmd as UID (no passwd entry) in the engine group only
  local uid=$1; shift
  setpriv --reuid="$uid" --regid="$ENGINE_GID" --clear-groups -- "$@"
}
# cluster_uid CLUSTER: the uid its running mariadbd has (all four of /proc's Uid line agree).
cluster_uid() {
  local pid u
  pid=$(cat "$DATA/run/$1/mariadbd/mariadbd.pid")
  tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q -- "--defaults-file=$DATA/run/$1/my.cnf" ||
    die "pid $pid is not the mariadbd of $1"
  read -r _ RUID EUID_ SUID FSUID < <(grep '^Uid:' "/proc/$pid/status")
  [ "$RUID" = "$EUID_" ] && [ "$RUID" = "$SUID" ] && [ "$RUID" = "$FSUID" ] ||
    die "the mariadbd of $1 has mixed uids $RUID $EUID_ $SUID $FSUID"
  [ "$(awk '/^Gid:/ {print $2}' "/proc/$pid/status")" = "$ENGINE_GID" ] ||
    die "the mariadbd of $1 is not in group $ENGINE_GROUP"
  echo "$RUID"
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
# but the few the engine user traverses (0710 root:engine group); nothing for others; each
# cluster's own uid (group mysql) owns only its mariadbd/ directory, its mount and its TLS
# directory.
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
  local uid group path cluster
  bad=""
  while read -r uid group path; do
    cluster=$(echo "$path" | sed -E -n "s#^$DATA/(run/([^/]+)/mariadbd(/.*)?|mnt/([^/]+)|tls/clusters/([^/]+)(/.*)?)\$#\2\4\5#p")
    if [ -z "$cluster" ] || [ "$group" != "$ENGINE_GROUP" ] || [ "$uid" != "$(cluster_uid "$cluster")" ]; then
      bad+="$uid:$group $path"$'\n'
    fi
  done < <(find "$DATA" -xdev ! -user root -printf '%U %g %p\n')
  [ -z "$bad" ] || die "owned by someone else than root, outside a cluster's own files:"$'\n'"$bad"
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
SEC_UID=$(cluster_uid sec)
[ "$SEC_UID" -ge "$UID_BASE" ] && [ "$SEC_UID" -le $((UID_BASE + 65535)) ] ||
  die "mariadbd runs as uid $SEC_UID, outside the engine uid range $UID_BASE.."
[ "$SEC_UID" != "$ENGINE_UID" ] || die "mariadbd runs as the shared $ENGINE_USER"
if getent passwd "$SEC_UID" >/dev/null; then die "uid $SEC_UID is a real account's"; fi
for p in $(pgrep -f -- "--defaults-file=$E2E_DIR/" || true); do
  [ "$(stat -c %u "/proc/$p")" != 0 ] || die "a mariadbd of this run (pid $p) runs as root"
done
log "mariadbd (pid $PID) runs as its own uid $SEC_UID (group $ENGINE_GROUP, no account), none as root"

log "file modes under the data dir"
check_modes

log "the mount admits only root and the cluster's uid $SEC_UID"
if out=$(as_user nobody ls "$DATA/mnt/sec" 2>&1); then die "nobody could list the mount: $out"; fi
log "nobody: ls $DATA/mnt/sec => $out"
as_uid "$SEC_UID" ls "$DATA/mnt/sec" | grep -qx mylab || die "uid $SEC_UID cannot list its mount"
# Past the data dir's modes: the same mount bound where anyone may walk; the FUSE admission
# check alone must refuse nobody.
PEEK="$E2E_DIR/peek"
mkdir -p "$PEEK" && chmod 0755 "$PEEK"
mount --bind "$DATA/mnt/sec" "$PEEK"
e2e_test_cleanup() { mountpoint -q "$PEEK" 2>/dev/null && umount -l "$PEEK"; }
if out=$(as_user nobody ls "$PEEK" 2>&1); then die "nobody listed the mount through a bind: $out"; fi
echo "$out" | grep -q "Permission denied" || die "expected EACCES for nobody, got: $out"
as_user nobody cat "$PEEK/ibdata1" >/dev/null 2>&1 && die "nobody read ibdata1 through a bind"
if out=$(as_user "$ENGINE_USER" ls "$PEEK" 2>&1); then die "$ENGINE_USER listed the mount: $out"; fi
echo "$out" | grep -q "Permission denied" || die "expected EACCES for $ENGINE_USER, got: $out"
as_uid "$SEC_UID" ls "$PEEK" | grep -qx mylab || die "uid $SEC_UID cannot list the bound mount"
umount "$PEEK"
log "nobody and $ENGINE_USER get EACCES from the mount itself; uid $SEC_UID is admitted"

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
[ "$(stat -c '%a %u' "$SFP")" = "700 $SEC_UID" ] || die "$SFP is not private to uid $SEC_UID"
[ "$(msql "SELECT @@have_symlink")" = DISABLED ] || die "symbolic links are on"
log "secure_file_priv=$SFP (0700 uid $SEC_UID), symbolic links disabled"

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
CLONE_UID=$(cluster_uid sec-clone)
[ "$CLONE_UID" != "$SEC_UID" ] || die "the clone runs as its source's uid $SEC_UID"
[ "$CLONE_UID" != "$ENGINE_UID" ] && [ "$CLONE_UID" != 0 ] || die "the clone runs as uid $CLONE_UID"
if getent passwd "$CLONE_UID" >/dev/null; then die "uid $CLONE_UID is a real account's"; fi
log "the clone's mariadbd runs as its own uid $CLONE_UID (the source's: $SEC_UID)"
if out=$(as_uid "$SEC_UID" ls "$DATA/mnt/sec-clone" 2>&1); then die "the source's uid listed the clone's mount: $out"; fi
if out=$(as_uid "$CLONE_UID" ls "$DATA/mnt/sec" 2>&1); then die "the clone's uid listed the source's mount: $out"; fi
as_uid "$CLONE_UID" ls "$DATA/mnt/sec-clone" | grep -qx mylab || die "uid $CLONE_UID cannot list its mount"
if sql sec-clone "SHOW GRANTS" | grep -q "ALL PRIVILEGES ON \*\.\*"; then
  die "the clone's master kept ALL ON *.*"
fi
if out=$(as_user nobody ls "$DATA/mnt/sec-clone" 2>&1); then die "nobody listed the clone's mount: $out"; fi
check_modes

log "a data dir left by an older version (root-owned, 0755/0644, one engine user, no engine_uid) is made private and works"
e2e_stop TERM
chown -R root:root "$DATA/run"
chown -R "$ENGINE_USER:$ENGINE_GROUP" "$DATA"/tls/clusters/*
python3 -c 'import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); c.execute("UPDATE clusters SET engine_uid = 0"); c.commit()' \
  "$DATA/meta.db"
find "$DATA" -xdev -type d -exec chmod 0755 {} +
find "$DATA" -xdev -type f -exec chmod 0644 {} +
e2e_start
wait_instance sec-1
wait_sql sec
[ "$(msql "SELECT COUNT(*) FROM shop.t")" = 2 ] || die "data lost across the restart"
wait_instance sec-clone-1
wait_sql sec-clone
# Given again in creation order, from the lowest: the same uids as before.
[ "$(cluster_uid sec)" = "$SEC_UID" ] && [ "$(cluster_uid sec-clone)" = "$CLONE_UID" ] ||
  die "the clusters' uids are not $SEC_UID and $CLONE_UID after the restart"
[ "$(grep -c "runs as its own engine uid" "$E2E_DIR/rewindd.log")" = 2 ] ||
  die "rewindd did not give both clusters an engine uid at its start"
check_modes

# Last: it takes the clone's root account, which rewindd itself logs in with.
log "the clone's master takes over its own server's root and aims at the source's files"
CPORT=$(cluster_field sec-clone Port)
sql sec-clone "ALTER USER root@localhost IDENTIFIED BY 'x'"
croot() { mysql -h 127.0.0.1 -P "$CPORT" -u root -px -N -B -e "$1"; }
[ "$(croot "SELECT CURRENT_USER()")" = "root@localhost" ] || die "the root takeover did not work"
# As the server's own uid it may still write into its own directory (what the takeover gives).
OWN="$DATA/run/sec-clone/mariadbd/own-general.log"
croot "SET GLOBAL general_log_file='$OWN'; SET GLOBAL general_log=ON; SELECT 1; SET GLOBAL general_log=OFF" >/dev/null
[ -f "$OWN" ] || die "control: the taken-over server could not log into its own directory"
[ "$(stat -c %u "$OWN")" = "$CLONE_UID" ] || die "control: $OWN is not uid $CLONE_UID's"
for target in "$DATA/run/sec/mariadbd/stolen.log" "$DATA/mnt/sec/stolen.log"; do
  rc=0
  out=$(croot "SET GLOBAL general_log_file='$target'; SET GLOBAL general_log=ON; SELECT 'probe'" 2>&1) || rc=$?
  [ $rc -ne 0 ] || die "the server accepted general_log_file=$target: $out"
  echo "$out" | grep -q "^ERROR" || die "no server error for $target: $out"
  [ ! -e "$target" ] || die "the clone's server wrote $target"
  log "refused: general_log_file=$target => $(echo "$out" | grep "^ERROR" | head -n1)"
done
[ "$(msql "SELECT COUNT(*) FROM shop.t")" = 2 ] || die "the source stopped serving"

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
