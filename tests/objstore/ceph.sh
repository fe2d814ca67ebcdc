#!/usr/bin/env bash
# A real single-node Ceph cluster serving the S3 API on 127.0.0.1, for the object-store tests.
#
#   ceph.sh start HANDLE   starts mon, one OSD (BlueStore on a sparse file) and radosgw, creates an
#                          S3 user and a bucket, writes HANDLE/s3.env (sourceable: S3_ENDPOINT,
#                          S3_REGION, S3_BUCKET, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY) and exits
#                          0 with the daemons running; on any failure stops what it started and
#                          exits non-zero with the daemons' log tails on stderr.
#   ceph.sh stop HANDLE    stops the daemons recorded in HANDLE by PID (radosgw, then OSD, then
#                          mon: the OSD stopped first makes radosgw hang in its shutdown) and
#                          removes their data. Safe to run when nothing (or half) was started.
#   ceph.sh stop-rgw HANDLE   stops radosgw alone, by its recorded PID (an object-store outage:
#                          mon, OSD and the data stay); the S3 port then refuses connections.
#   ceph.sh start-rgw HANDLE  starts radosgw again on the same port, with the same users and
#                          bucket, and waits until it answers (60 s at most). A no-op when it runs.
#
# HANDLE is a directory owned by one test run (CTest uses its build tree), so parallel runs with
# different build trees do not clash: the data lives in a fresh mktemp dir and every port comes
# from tests/free_port.sh's scheme (below the ephemeral range, checked against /proc/net/tcp).
# No mgr: S3 does not need it. Measured facts behind each setting: docs/format/object-store.md
# (tests section). Needs the Debian packages ceph-mon ceph-osd radosgw ceph-common
# (scripts/setup.sh installs them); runs as any user that may write TMPDIR.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=SCRIPTDIR/../free_port.sh
. "$here/../free_port.sh"

die() { echo "ceph.sh: $*" >&2; exit 1; }

usage() { die "usage: ceph.sh start|stop|stop-rgw|start-rgw HANDLE_DIR"; }
[ $# -eq 2 ] || usage
cmd=$1
handle=$2

# ---- stopping -------------------------------------------------------------------------------

# pid_is NAME PID: true if PID is alive and is the named ceph daemon (guards against PID reuse).
pid_is() {
  local exe
  [ -n "$2" ] && kill -0 "$2" 2>/dev/null || return 1
  exe=$(tr '\0' ' ' < "/proc/$2/cmdline" 2>/dev/null) || return 1
  [[ $exe == *"$1"* ]]
}

# stop_one NAME: SIGTERM the daemon recorded in $handle/NAME.pid, SIGKILL after 20 s; waits
# until it is gone. The cluster's data is thrown away after, so nothing is lost by the KILL.
stop_one() {
  local name=$1 pidfile="$handle/$1.pid" pid i
  [ -f "$pidfile" ] || return 0
  pid=$(cat "$pidfile")
  if pid_is "$name" "$pid"; then
    kill -TERM "$pid" 2>/dev/null || true
    for i in $(seq 1 200); do
      pid_is "$name" "$pid" || break
      if [ "$i" -eq 200 ]; then
        echo "ceph.sh: $name (pid $pid) ignored SIGTERM for 20 s: SIGKILL" >&2
        kill -KILL "$pid" 2>/dev/null || true
      fi
      sleep 0.1
    done
    while pid_is "$name" "$pid"; do sleep 0.1; done
  fi
  rm -f "$pidfile"
}

stop_all() {
  local t0=$SECONDS
  stop_one radosgw
  stop_one ceph-osd
  stop_one ceph-mon
  if [ -f "$handle/datadir" ]; then
    local d; d=$(cat "$handle/datadir")
    # Only ever remove a directory this script made.
    [[ $d == */rewind-ceph.* ]] && rm -rf "$d"
    rm -f "$handle/datadir"
  fi
  rm -f "$handle/s3.env"
  echo "ceph.sh: stopped in $((SECONDS - t0)) s"
}

if [ "$cmd" = stop ]; then
  [ -d "$handle" ] || { echo "ceph.sh: nothing to stop in $handle"; exit 0; }
  stop_all
  exit 0
fi
if [ "$cmd" = stop-rgw ]; then
  [ -f "$handle/radosgw.pid" ] || die "no radosgw recorded in $handle (is the fixture started?)"
  stop_one radosgw
  echo "ceph.sh: radosgw stopped"
  exit 0
fi
if [ "$cmd" = start-rgw ]; then
  [ -f "$handle/datadir" ] && [ -f "$handle/s3.env" ] ||
    die "no Ceph cluster recorded in $handle (is the fixture started?)"
  dir=$(cat "$handle/datadir")
  if [ -f "$handle/radosgw.pid" ] && pid_is radosgw "$(cat "$handle/radosgw.pid")"; then
    echo "ceph.sh: radosgw already runs"; exit 0
  fi
  endpoint=$(sed -n 's/^S3_ENDPOINT=//p' "$handle/s3.env")
  # The same command line as at start (below), so the same port, users and bucket.
  setsid radosgw -c "$dir/ceph.conf" -f -n client.rgw </dev/null >>"$dir/log/radosgw.out" 2>&1 &
  echo $! > "$handle/radosgw.pid"
  for _ in $(seq 1 300); do
    curl -s -o /dev/null --max-time 2 "$endpoint/" && { echo "ceph.sh: radosgw back on $endpoint"; exit 0; }
    pid_is radosgw "$(cat "$handle/radosgw.pid")" || die "radosgw died at restart: $(tail -5 "$dir/log/radosgw.out")"
    sleep 0.2
  done
  die "radosgw did not answer on $endpoint within 60 s of its restart"
fi
[ "$cmd" = start ] || usage

# ---- starting -------------------------------------------------------------------------------

for tool in ceph-mon ceph-osd radosgw radosgw-admin ceph monmaptool ceph-authtool uuidgen curl; do
  command -v "$tool" >/dev/null || die "$tool is missing: run scripts/setup.sh (ceph packages)"
done

mkdir -p "$handle"
handle=$(cd "$handle" && pwd)
# A previous run killed before its cleanup: stop its daemons first.
stop_all >/dev/null

t_start=$SECONDS
dir=$(mktemp -d "${TMPDIR:-/tmp}/rewind-ceph.XXXXXX")
echo "$dir" > "$handle/datadir"

started_ok=0
on_exit() {
  if [ "$started_ok" -ne 1 ]; then
    echo "ceph.sh: start failed; daemon logs:" >&2
    for f in "$dir"/log/*; do
      [ -s "$f" ] || continue
      echo "---- $f (tail)" >&2
      tail -n 12 "$f" | cut -c1-300 >&2
    done
    stop_all >&2 || true
  fi
}
trap on_exit EXIT
trap 'exit 130' INT TERM

# A block of consecutive free ports: mon v2 and v1 first, then the OSD's messengers.
nports=24
base=""
for _ in $(seq 1 50); do
  p=$(free_port)
  ok=1
  for ((q = p; q < p + nports; q++)); do
    if port_in_use "$q"; then ok=0; break; fi
  done
  if [ "$ok" -eq 1 ]; then base=$p; break; fi
done
[ -n "$base" ] || die "no block of $nports free ports"
mon_v2=$base
mon_v1=$((base + 1))
rgw_port=$(free_port)
while [ "$rgw_port" -ge "$base" ] && [ "$rgw_port" -lt $((base + nports)) ]; do
  rgw_port=$(free_port)
done

fsid=$(uuidgen)
conf="$dir/ceph.conf"
mkdir -p "$dir"/{mon,osd,run,log,rgw}
cat > "$conf" <<EOF
[global]
fsid = $fsid
mon host = [v2:127.0.0.1:$mon_v2,v1:127.0.0.1:$mon_v1]
mon initial members = a
public addr = 127.0.0.1
ms bind port min = $((base + 2))
ms bind port max = $((base + nports - 1))
# Loopback only, thrown away after the run.
auth cluster required = none
auth service required = none
auth client required = none
run dir = $dir/run
admin socket = $dir/run/\$name.asok
log file = $dir/log/\$name.log
mon data = $dir/mon
osd data = $dir/osd
keyring = $dir/keyring
# One OSD.
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
mon allow pool size one = true
mon max pg per osd = 1000
mon warn on pool no redundancy = false
mon warn on insecure global id reclaim allowed = false
# The mon shuts itself down below 5 % free by default.
mon data avail warn = 2
mon data avail crit = 1
osd objectstore = bluestore
bluestore block create = true
bluestore block size = 21474836480
osd crush chooseleaf type = 0
# The mon batches map changes for 1 s by default: each pool create and the OSD boot wait for it.
paxos propose interval = 0.05
paxos min wait = 0.01

[client]
# radosgw's default (secure) cannot be had with auth none: it would hang ~300 s.
ms mon client mode = crc
rgw data = $dir/rgw
rgw enable lc threads = false
rgw frontends = beast endpoint=127.0.0.1:$rgw_port
EOF

C=(-c "$conf")

# start_daemon NAME CMD...: runs CMD detached (its own session, no inherited stdio, so that the
# CTest setup test can end while it runs) and records its PID in $handle/NAME.pid.
start_daemon() {
  local name=$1; shift
  setsid "$@" </dev/null >>"$dir/log/$name.out" 2>&1 &
  echo $! > "$handle/$name.pid"
}

# alive NAME: fails the start loudly if the daemon has died.
alive() {
  pid_is "$1" "$(cat "$handle/$1.pid")" || die "$1 died (its log tail follows)"
}

# wait_for WHAT SECONDS DAEMON CMD...: retries CMD every 0.2 s while DAEMON lives.
wait_for() {
  local what=$1 secs=$2 daemon=$3 i
  shift 3
  for ((i = 0; i < secs * 5; i++)); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    alive "$daemon"
    sleep 0.2
  done
  die "timed out after $secs s waiting for $what"
}

# Monitor.
ceph-authtool --create-keyring "$dir/keyring" --gen-key -n mon. --cap mon 'allow *' >/dev/null
monmaptool --create --fsid "$fsid" --addv a "[v2:127.0.0.1:$mon_v2,v1:127.0.0.1:$mon_v1]" \
  "$dir/monmap" >/dev/null
ceph-mon "${C[@]}" --mkfs -i a --monmap "$dir/monmap" --keyring "$dir/keyring" \
  >"$dir/log/mkfs-mon.out" 2>&1 || die "ceph-mon --mkfs failed: $(tail -5 "$dir/log/mkfs-mon.out")"
start_daemon ceph-mon ceph-mon "${C[@]}" -f -i a
wait_for "the monitor" 60 ceph-mon timeout 5 ceph "${C[@]}" --connect-timeout 5 mon stat

# OSD.
osd_uuid=$(uuidgen)
osd_id=$(timeout 30 ceph "${C[@]}" osd new "$osd_uuid") || die "ceph osd new failed"
[ "$osd_id" = 0 ] || die "unexpected OSD id '$osd_id'"
ceph-osd "${C[@]}" -i 0 --mkfs --osd-uuid "$osd_uuid" >"$dir/log/mkfs-osd.out" 2>&1 ||
  die "ceph-osd --mkfs failed: $(tail -5 "$dir/log/mkfs-osd.out")"
start_daemon ceph-osd ceph-osd "${C[@]}" -f -i 0
osd_up() { timeout 5 ceph "${C[@]}" osd dump 2>/dev/null | grep -q '^osd\.0 up'; }
wait_for "the OSD to be up" 90 ceph-osd osd_up

# Pools: radosgw would create them lazily on first use (seconds at a time); create them now.
# One ceph process for all of them (its interactive mode reads commands from stdin).
pools=(.rgw.root default.rgw.control default.rgw.meta default.rgw.log
       default.rgw.buckets.index default.rgw.buckets.data default.rgw.buckets.non-ec)
for pool in "${pools[@]}"; do
  echo "osd pool create $pool 8 8"
  echo "osd pool application enable $pool rgw"
done | timeout 60 ceph "${C[@]}" >"$dir/log/pools.out" 2>&1 || die "creating the pools failed"
have=$(timeout 30 ceph "${C[@]}" osd pool ls) || die "ceph osd pool ls failed"
for pool in "${pools[@]}"; do
  grep -qx -- "$pool" <<<"$have" || die "pool $pool is missing"
done

# S3 user (random keys: a leftover cluster is useless to anyone else).
access_key=$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n' | tr 'a-f' 'A-F')
secret_key=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
timeout 60 radosgw-admin "${C[@]}" user create --uid rewind-test --display-name "Rewind tests" \
  --access-key "$access_key" --secret "$secret_key" >"$dir/log/user.out" 2>&1 ||
  die "radosgw-admin user create failed: $(tail -5 "$dir/log/user.out")"

# radosgw.
start_daemon radosgw radosgw "${C[@]}" -f -n client.rgw
endpoint="http://127.0.0.1:$rgw_port"
rgw_answers() { curl -s -o /dev/null --max-time 2 "$endpoint/"; }
wait_for "radosgw on $endpoint" 60 radosgw rgw_answers

# The bucket, by a signed PUT; the keys go to curl on stdin, not on its command line.
bucket=rewind-test
s3curl() {
  printf 'user = "%s:%s"\n' "$access_key" "$secret_key" |
    curl -sS -K - --aws-sigv4 "aws:amz:us-east-1:s3" -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" \
      --max-time 30 "$@"
}
code=$(s3curl -o "$dir/log/bucket.out" -w '%{http_code}' -X PUT "$endpoint/$bucket") ||
  die "PUT bucket failed"
[ "$code" = 200 ] || die "PUT bucket answered $code: $(cat "$dir/log/bucket.out")"

umask 077
cat > "$handle/s3.env" <<EOF
S3_ENDPOINT=$endpoint
S3_REGION=us-east-1
S3_BUCKET=$bucket
AWS_ACCESS_KEY_ID=$access_key
AWS_SECRET_ACCESS_KEY=$secret_key
EOF
started_ok=1
echo "ceph.sh: S3 on $endpoint (bucket $bucket, data in $dir) ready in $((SECONDS - t_start)) s"
