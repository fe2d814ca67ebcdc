#!/usr/bin/env bash
# rewindd --object-store against the real Ceph RGW of the `ceph` fixture (REWIND_S3_ENV names its
# s3.env), with the real rewindd, aws CLI and mysql. rewindd reaches RGW through a socat proxy this
# test owns, so that it can take the object store away and give it back without touching the
# fixture. Checks:
#   - bad --object-store values stop rewindd at start with a message and nothing started;
#   - with writes going on, the bucket holds store.json, HEAD, meta copies and the log (segments
#     and/or tail chunks), and the upload lag in /metrics stays small;
#   - kill -9 during writes, then a restart: uploads resume without an inconsistent object (no
#     failed pass), and every object of the log in the bucket is byte for byte the local log;
#   - the object store hanging (proxy stopped), then gone (proxy killed) under load: commits go
#     on, the "slow" / failure event is raised and the lag grows; back again: uploads catch up (lag small, the catch-up event) and the bucket matches;
#   - machine loss (kill -9 under writes, data dir deleted): --restore into a new data dir serves
#     the cluster again with every row acknowledged more than 2.5 s before the loss.
source "$(dirname "$0")/../e2e/lib.sh"
MASTER_PASSWORD="Objstore-pass-$RANDOM"

source "$(dirname "$0")/lib.sh"
command -v socat >/dev/null || die "socat is missing (scripts/setup.sh installs it)"
PREFIX="e2e-$$-$RANDOM"
RGW_HOSTPORT=${S3_ENDPOINT#http://}


PROXY_PORT=$(free_port)
PROXY_PID=""
proxy_up() {
  socat "TCP-LISTEN:$PROXY_PORT,bind=127.0.0.1,fork,reuseaddr" "TCP:$RGW_HOSTPORT" &
  PROXY_PID=$!
  E2E_BG_PIDS+=("$PROXY_PID")
  for _ in $(seq 1 50); do port_in_use "$PROXY_PORT" && return 0; sleep 0.1; done
  die "the proxy did not listen"
}
proxy_down() {  # the listener and every connection it forwards (curl keeps them alive)
  pkill -KILL -P "$PROXY_PID" 2>/dev/null || true
  kill -KILL "$PROXY_PID"; wait "$PROXY_PID" 2>/dev/null || true
  pkill -KILL -P "$PROXY_PID" 2>/dev/null || true
}
e2e_test_cleanup() { [ -n "$PROXY_PID" ] && pkill -KILL -P "$PROXY_PID" 2>/dev/null; true; }

log "bad --object-store values stop rewindd at start"
BAD="$E2E_DIR/bad"
out=$("$REWINDD" --data-dir "$BAD" --listen "127.0.0.1:$(free_port)" --object-store http://x/y 2>&1) &&
  die "a non-s3 URL was accepted"
echo "$out" | grep -q "s3://" || die "no clear message for a bad URL: $out"
out=$("$REWINDD" --data-dir "$BAD" --listen "127.0.0.1:$(free_port)" --object-store "s3://$S3_BUCKET/p" \
  --s3-endpoint http://192.0.2.7:7480 2>&1) && die "a plain-http endpoint off loopback was accepted"
echo "$out" | grep -q "use https://" || die "no clear message for a plain-http endpoint: $out"
out=$("$REWINDD" --data-dir "$BAD" --listen "127.0.0.1:$(free_port)" --local-history-budget 1G 2>&1) &&
  die "--local-history-budget without --object-store was accepted"
echo "$out" | grep -q "needs --object-store" || die "no clear message for a budget alone: $out"
out=$("$REWINDD" --data-dir "$BAD" --listen "127.0.0.1:$(free_port)" --object-store "s3://$S3_BUCKET/p" \
  --upload-backlog-policy grow 2>&1) && die "--upload-backlog-policy without a budget was accepted"
echo "$out" | grep -q "need --local-history-budget" || die "no clear message for a policy alone: $out"
out=$("$REWINDD" --data-dir "$BAD" --listen "127.0.0.1:$(free_port)" --object-store "s3://$S3_BUCKET/p" \
  --local-history-budget 1G --upload-backlog-policy drop 2>&1) && die "an unknown policy was accepted"
echo "$out" | grep -q "use back-pressure" || die "no clear message for an unknown policy: $out"
out=$("$REWINDD" --data-dir "$BAD" --listen "127.0.0.1:$(free_port)" --object-store "s3://$S3_BUCKET/p" \
  --local-history-budget 1G --upload-backlog-headroom 10M 2>&1) && die "a 10M headroom was accepted"
echo "$out" | grep -q "at least 128M" || die "no clear message for a small headroom: $out"
out=$("$REWINDD" --data-dir "$BAD" --listen "127.0.0.1:$(free_port)" \
  --peer-object-store "node1=s3://$S3_BUCKET/n1" 2>&1) && die "a peer without --object-store was accepted"
echo "$out" | grep -q "peer-object-store needs --object-store" || die "no clear message for a peer alone: $out"
for bad in "Node1=s3://$S3_BUCKET/n1|lower-case letters" "node1|NAME=s3://BUCKET/PREFIX" \
           "node1=http://x/y|s3://" "123456789012=s3://$S3_BUCKET/n1|own account id"; do
  out=$("$REWINDD" --data-dir "$BAD" --listen "127.0.0.1:$(free_port)" --object-store "s3://$S3_BUCKET/p" \
    --peer-object-store "${bad%%|*}" 2>&1) && die "--peer-object-store ${bad%%|*} was accepted"
  echo "$out" | grep -qF "${bad##*|}" || die "no clear message for --peer-object-store ${bad%%|*}: $out"
done
out=$("$REWINDD" --data-dir "$BAD" --listen "127.0.0.1:$(free_port)" --object-store "s3://$S3_BUCKET/p" \
  --peer-object-store "node1=s3://$S3_BUCKET/n1" --peer-object-store "node1=s3://$S3_BUCKET/n2" 2>&1) &&
  die "a peer given twice was accepted"
echo "$out" | grep -q "given twice" || die "no clear message for a peer given twice: $out"
[ ! -e "$BAD/store" ] || die "a refused start left a store behind"
rc=0
out=$(timeout 60 "$REWINDD" --data-dir "$BAD" --listen "127.0.0.1:$(free_port)" \
  --object-store "s3://no-such-bucket-$$/p" --s3-endpoint "$S3_ENDPOINT" 2>&1) || rc=$?
[ $rc -eq 1 ] || die "a missing bucket: exit $rc, want 1: $out"
echo "$out" | grep -q "NoSuchBucket" || die "no clear message for a missing bucket: $out"
rc=0
out=$(timeout 60 "$REWINDD" --data-dir "$BAD" --listen "127.0.0.1:$(free_port)" \
  --object-store "s3://$S3_BUCKET/p" --s3-endpoint "http://127.0.0.1:$(free_port)" 2>&1) || rc=$?
[ $rc -eq 1 ] || die "an unreachable endpoint: exit $rc, want 1: $out"
[ ! -d "$BAD/mnt" ] || die "rewindd mounted before checking the object store"
log "refused: $(echo "$out" | tail -1)"

proxy_up
REWINDD_ARGS="--object-store s3://$S3_BUCKET/$PREFIX --s3-endpoint http://127.0.0.1:$PROXY_PORT"
e2e_start
create_cluster_with_writer obj 3600
sql obj "CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(200))"
HOST=$(cluster_field obj Endpoint); PORT=$(cluster_field obj Port)

ACKED="$E2E_DIR/acked"
: > "$ACKED"
start_writer() {  # autocommit inserts from $1 up; each acknowledged id goes to $ACKED
  (
    for i in $(seq "$1" $(($1 + 1000000))); do
      mysql -h "$HOST" -P "$PORT" -u masteruser -p"$MASTER_PASSWORD" mylab \
        -e "INSERT INTO t VALUES ($i, REPEAT('x', 200))" >/dev/null 2>&1 || exit 0
      echo "$i" >> "$ACKED"
    done
  ) &
  WRITER=$!
  E2E_BG_PIDS+=("$WRITER")
}
stop_writer() { kill -KILL "$WRITER" 2>/dev/null || true; wait "$WRITER" 2>/dev/null || true; }

# check_bucket: the store's log in the bucket is the local log, byte for byte: every segment
# object is its local file's first bytes, and the chunks of each tail are contiguous from 0 and
# the local segment's first bytes.
check_bucket() {
  local keys id n=0 dl="$E2E_DIR/dl"
  id=$(cat "$DATA/store/objstore.id")
  rm -rf "$dl"; mkdir -p "$dl"
  # One download of the store's objects (one aws call per object would take a second each).
  env -u AWS_SHARED_CREDENTIALS_FILE -u AWS_PROFILE /usr/bin/aws --region "$S3_REGION" \
    --endpoint-url "$S3_ENDPOINT" s3 cp --quiet --recursive \
    "s3://$S3_BUCKET/$PREFIX/rewind/v1/stores/$id/" "$dl/"
  keys=$(cd "$dl" && find . -type f | sed "s|^\./|rewind/v1/stores/$id/|" | sort)
  for k in store.json HEAD; do
    echo "$keys" | grep -qx "rewind/v1/stores/$id/$k" || die "no $k in the bucket: $keys"
  done
  echo "$keys" | grep -q "^rewind/v1/stores/$id/meta/.*\.db$" || die "no meta.db copy: $keys"
  for k in $(echo "$keys" | grep "^rewind/v1/stores/$id/log/"); do
    local name=${k##*/} seg fid local_file
    seg=${name%%-*}; fid=${name#*-}; fid=${fid%.seg}
    if [ "$((10#$fid))" = "$((10#$seg))" ]; then local_file="$DATA/store/log/$seg.seg"
    else local_file="$DATA/store/log/$seg-$fid.seg"; fi
    [ -f "$local_file" ] || continue  # rewritten by the cleaner since (its successor is up too)
    cmp -n "$(stat -c %s "$dl/log/$name")" "$dl/log/$name" "$local_file" >/dev/null ||
      die "$k differs from $local_file"
    n=$((n + 1))
  done
  for seg in $(echo "$keys" | grep "^rewind/v1/stores/$id/tail/" | awk -F/ '{ print $6 }' | sort -u); do
    local end=0 whole="$E2E_DIR/tail-$seg"
    : > "$whole"
    for k in $(echo "$keys" | grep "^rewind/v1/stores/$id/tail/$seg/" | sort); do
      local range=${k##*/} from to
      from=$((10#${range%-*})); to=$((10#${range#*-}))
      [ "$from" = "$end" ] || die "tail chunks of segment $seg are not contiguous at $end ($k)"
      cat "$dl/tail/$seg/$range" >> "$whole"; end=$to
      n=$((n + 1))
    done
    cmp -n "$end" "$whole" "$DATA/store/log/$seg.seg" >/dev/null ||
      die "the tail of segment $seg in the bucket differs from the local log"
  done
  [ "$n" -gt 0 ] || die "no log in the bucket: $keys"
  log "bucket matches the local log ($n log objects: $(echo "$keys" | grep -c /log/) segments, \
$(echo "$keys" | grep -c /tail/) tail chunks, $(echo "$keys" | grep -c /ckpt/) checkpoints, \
$(echo "$keys" | grep -c /meta/) meta copies)"
}

log "writes with the object store on: the upload lag stays small"
start_writer 1
MAX_LAG=0
for _ in $(seq 1 10); do
  sleep 1
  lag=$(metric rewind_objstore_upload_lag_seconds)
  MAX_LAG=$(awk -v a="$lag" -v b="$MAX_LAG" 'BEGIN { print (a > b) ? a : b }')
done
log "upload lag under writes: max ${MAX_LAG}s over 10 samples; $(wc -l < "$ACKED") rows acknowledged"
awk -v m="$MAX_LAG" 'BEGIN { exit !(m < 2.5) }' || die "upload lag ${MAX_LAG}s is not about a second"
[ "$(metric rewind_objstore_failed_passes_total)" = 0 ] || die "failed passes with RGW up"

log "kill -9 rewindd during writes and restart"
e2e_stop KILL
stop_writer
e2e_start
wait_available obj
for _ in $(seq 1 300); do sql obj "SELECT 1" >/dev/null 2>&1 && break; sleep 0.2; done
start_writer 200000
sleep 4
lag=$(metric rewind_objstore_upload_lag_seconds)
awk -v m="$lag" 'BEGIN { exit !(m < 2.5) }' || die "upload lag ${lag}s after the restart"
[ "$(metric rewind_objstore_failed_passes_total)" = 0 ] ||
  die "a pass failed after the restart (an object in the bucket differs from the local log?)"
[ "$(metric rewind_objstore_uploaded_objects_total)" -gt 0 ] || die "no uploads after the restart"
check_bucket

log "the object store hangs under load (the proxy stopped): commits go on, the watchdog says so"
N0=$(wc -l < "$ACKED")
kill -STOP "$PROXY_PID"; pkill -STOP -P "$PROXY_PID" || true
for _ in $(seq 1 100); do [ "$(metric rewind_objstore_down)" = 1 ] && break; sleep 0.2; done
[ "$(metric rewind_objstore_down)" = 1 ] || die "a hanging object store is not in /metrics"
EV=$(events obj); echo "$EV" | grep -q "object store is slow" ||
  die "no event says the object store is slow"
log "slow: lag $(metric rewind_objstore_upload_lag_seconds)s; $(($(wc -l < "$ACKED") - N0)) commits meanwhile"

log "the object store goes away under load: commits go on"
proxy_down  # SIGKILL ends the stopped proxy and its connections: requests now fail at once
sleep 4
LAG_DOWN=$(metric rewind_objstore_upload_lag_seconds)
BYTES_DOWN=$(metric rewind_objstore_upload_lag_bytes)
N1=$(wc -l < "$ACKED")
log "down: lag ${LAG_DOWN}s / ${BYTES_DOWN} bytes; $((N1 - N0)) commits acknowledged meanwhile"
[ "$N1" -gt "$((N0 + 5))" ] || die "commits stopped while the object store was down"
awk -v m="$LAG_DOWN" 'BEGIN { exit !(m > 4) }' || die "lag ${LAG_DOWN}s did not grow while down"
[ "$BYTES_DOWN" -gt 0 ] || die "no lag bytes while down"
EV=$(events obj); echo "$EV" | grep -q "object store are failing" ||
  die "no event says uploads are failing"

log "the object store is back: uploads catch up"
proxy_up
for _ in $(seq 1 150); do [ "$(metric rewind_objstore_down)" = 0 ] && break; sleep 0.2; done
[ "$(metric rewind_objstore_down)" = 0 ] || die "uploads did not catch up in 30 s"
sleep 2
lag=$(metric rewind_objstore_upload_lag_seconds)
awk -v m="$lag" 'BEGIN { exit !(m < 2.5) }' || die "upload lag ${lag}s after catching up"
EV=$(events obj); echo "$EV" | grep -q "object store caught up" ||
  die "no event says uploads caught up"
stop_writer
sleep 2
check_bucket

log "a cluster snapshot before the loss: its root password travels with meta.db"
SNAP_ROWS=$(sql obj "SELECT COUNT(*) FROM t")
aws_rds create-db-cluster-snapshot --db-cluster-identifier obj \
  --db-cluster-snapshot-identifier objsnap >/dev/null
aws_rds wait db-cluster-snapshot-available --db-cluster-snapshot-identifier objsnap

log "machine loss under writes: kill -9, the data dir gone, --restore into a new one"
start_writer 400000
sleep 3
N_EARLY=$(wc -l < "$ACKED")  # every one acknowledged at least 2.5 s before the loss
sleep 2.5
lose_machine
stop_writer
N_ALL=$(wc -l < "$ACKED")
T_RESTORE=$(date +%s.%N)
REWINDD_ARGS="$REWINDD_ARGS --restore"
e2e_start
grep "restored store" "$E2E_DIR/rewindd.log" | tail -1
wait_available obj
for _ in $(seq 1 300); do sql obj "SELECT 1" >/dev/null 2>&1 && break; sleep 0.2; done
log "restored and serving in $(awk -v a="$(date +%s.%N)" -v b="$T_RESTORE" 'BEGIN { printf "%.1f", a - b }') s"
PRESENT="$E2E_DIR/present"
sql obj "SELECT id FROM t" | sort > "$PRESENT"
MISSING=$(head -n "$N_EARLY" "$ACKED" | sort | comm -23 - "$PRESENT" | wc -l)
[ "$MISSING" = 0 ] || die "$MISSING rows acknowledged more than 2.5 s before the loss are missing"
LOST=$(sort "$ACKED" | comm -23 - "$PRESENT" | wc -l)
log "restore: all $N_EARLY rows acknowledged 2.5 s before the loss are there; of the $N_ALL" \
  "acknowledged, $LOST (the last moments) are not"

log "the snapshot taken before the loss restores on the new data dir"
restore_snapshot_with_writer fromsnap objsnap
got=$(sql fromsnap "SELECT COUNT(*) FROM t")
[ "$got" = "$SNAP_ROWS" ] || die "the restored snapshot has $got rows, the snapshot had $SNAP_ROWS"
log "PASS"
