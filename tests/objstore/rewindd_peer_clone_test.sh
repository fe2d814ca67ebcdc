#!/usr/bin/env bash
# Issue 18's second node: a copy-on-write clone of node 1's cluster, made and served by a second
# rewindd that reads node 1's history from the bucket (the real Ceph RGW of the `ceph` fixture;
# REWIND_S3_ENV names its s3.env), with the real rewindd, aws CLI and mysql. Two rewindds, each
# with its own data dir, ports and prefix in one bucket; node 2 names node 1's prefix
# --peer-object-store lab1=s3://BUCKET/PREFIX1. Checks:
#   - node 2 refuses a bad source (unknown peer, unknown cluster: DBClusterNotFoundFault) and a
#     bad time (in the future, before the earliest restorable time: InvalidRestoreFault), and
#     stores nothing for them (no cluster on node 2, no pin under node 1's store);
#   - restore-db-cluster-to-point-in-time --source-db-cluster-identifier
#     arn:aws:rds:REGION:lab1:cluster:lab --restore-type copy-on-write --restore-to-time T on
#     node 2, then create-db-instance: node 2's clone serves node 1's rows as of T exactly (count,
#     sum, no row or update made after T); node 2's writes stay on node 2; node 1 keeps serving
#     and taking writes, which node 2's clone does not see;
#   - the pin rewind/v1/stores/NODE1/pins/NODE2-CLONE.json (CLONE: the clone's resource id) is
#     under node 1's store while the clone exists, and goes with it;
#   - node 2 restarted: the clone serves again (its view of node 1 reopened at start);
#   - the clone's deletion killed between its volume and its pin (cluster.delete.volume_deleted):
#     finished at the restart, the pin gone;
#   - the kill driver of the peer_clone operation (the kill matrix, tests/e2e/kill_matrix_test.sh,
#     cannot run it: it needs Ceph): every cluster.peer_clone.* failpoint in src/ (found by grep;
#     none found fails the test) kills node 2 during a peer clone; after a restart the clone is
#     whole (serves the rows of its T after create-db-instance) or absent, and a pin is under node
#     1's store exactly while its clone exists;
#   - node 1 stopped: a time after its last shipped HEAD (not in the future) is refused too.
# Both rewindds and everything they started are stopped by PID on every exit path (lib.sh).
source "$(dirname "$0")/../e2e/lib.sh"
MASTER_PASSWORD="Peer-pass-$RANDOM$RANDOM"

source "$(dirname "$0")/lib.sh"
SRC_DIR=$(cd "$(dirname "$0")/../../src" && pwd)
RUN="$$-$RANDOM"
N1_PREFIX="n1-$RUN" N2_PREFIX="n2-$RUN"
PEER=lab1
ARN="arn:aws:rds:us-east-1:$PEER:cluster:lab"

# The peer_clone failpoints, from the source tree (as the kill matrix finds every cluster.*
# one): this test is their only driver.
mapfile -t PEER_FPS < <( { grep -rhoE --include='*.cc' --include='*.h' --exclude='*_test.cc' \
  'Failpoint\("cluster\.peer_clone\.[^"]*"' "$SRC_DIR" || true; } | sed 's/^Failpoint("//; s/"$//' | sort -u)
[ "${#PEER_FPS[@]}" -gt 0 ] || die "no cluster.peer_clone.* failpoint found under $SRC_DIR"
log "peer_clone failpoints: ${PEER_FPS[*]}"

# ---------------------------------------------------------------------------------------------
# Two nodes. `node K` makes node K the one lib.sh's functions (e2e_start, e2e_stop, aws_rds,
# sql, metric…) talk to; the other's rewindd stays in E2E_OTHER_REWINDDS for the clean-up.
declare -A NODE_DATA=([1]="$E2E_DIR/data" [2]="$E2E_DIR/data2")
declare -A NODE_API=([1]=$(free_port) [2]=$(free_port))
declare -A NODE_FIRST=([1]=$(free_port) [2]=$(free_port))
declare -A NODE_PID=([1]="" [2]="")
declare -A NODE_ARGS=(
  [1]="--object-store s3://$S3_BUCKET/$N1_PREFIX --s3-endpoint $S3_ENDPOINT --s3-region $S3_REGION"
  [2]="--object-store s3://$S3_BUCKET/$N2_PREFIX --s3-endpoint $S3_ENDPOINT --s3-region $S3_REGION
       --peer-object-store $PEER=s3://$S3_BUCKET/$N1_PREFIX"
)
NODE=""
node() {
  [ -z "$NODE" ] || NODE_PID[$NODE]=$REWINDD_PID
  NODE=$1
  REWINDD_PID=${NODE_PID[$1]}
  E2E_OTHER_REWINDDS=()
  local k
  for k in 1 2; do
    [ "$k" = "$1" ] || [ -z "${NODE_PID[$k]}" ] || E2E_OTHER_REWINDDS+=("${NODE_PID[$k]}")
  done
  # shellcheck disable=SC2034 # read by lib.sh's functions
  DATA_DIR=${NODE_DATA[$1]} DATA=${NODE_DATA[$1]} E2E_LOG="$E2E_DIR/rewindd$1.log"
  # shellcheck disable=SC2034 # read by lib.sh's functions
  API_PORT=${NODE_API[$1]} FIRST_PORT=${NODE_FIRST[$1]} REWINDD_ARGS=${NODE_ARGS[$1]}
  export AWS_SHARED_CREDENTIALS_FILE="$DATA/credentials"
}

iso() { date -u -d "@$1" +%Y-%m-%dT%H:%M:%SZ; }
# sql CLUSTER "statements", as lib.sh's, with the endpoint asked once per node and cluster: two
# aws CLI calls per statement would cost seconds of CPU on the machine under test.
declare -A ENDPOINT=()
sql() {
  local key="$NODE/$1" host port
  if [ -z "${ENDPOINT[$key]:-}" ]; then
    host=$(cluster_field "$1" Endpoint) port=$(cluster_field "$1" Port)
    if ! [[ $port =~ ^[0-9]+$ ]] || [ -z "$host" ] || [ "$host" = None ]; then
      echo "$1 has no endpoint yet" >&2; return 1
    fi
    ENDPOINT[$key]="$host $port"
  fi
  read -r host port <<<"${ENDPOINT[$key]}"
  mysql -h "$host" -P "$port" -u masteruser -p"$MASTER_PASSWORD" -N -B mylab -e "$2"
}
# store_id K: node K's store id in the bucket (made at its first upload).
store_id() {
  local f="${NODE_DATA[$1]}/store/objstore.id"
  for _ in $(seq 1 100); do [ -s "$f" ] && break; sleep 0.2; done
  [ -s "$f" ] || die "node $1 has no store id after 20 s"
  cat "$f"
}
# s3_get PATH: GET of the bucket's PATH (a key, or ?query already encoded and sorted), signed by
# curl's SigV4 with the fixture's keys (given on stdin, not on a command line). S3 wants the
# payload's SHA-256 (here of nothing) in a header, which curl 7.88 does not add by itself.
s3_get() {
  printf 'user = "%s:%s"\n' "$AWS_ACCESS_KEY_ID" "$AWS_SECRET_ACCESS_KEY" |
    curl -sS --max-time 30 -K - --aws-sigv4 "aws:amz:$S3_REGION:s3" \
      -H "x-amz-content-sha256: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" \
      "$S3_ENDPOINT/$S3_BUCKET/$1"
}
# pins: the names of the pin objects under node 1's store, one a line, sorted.
pins() {
  local prefix="$N1_PREFIX/rewind/v1/stores/$N1_ID/pins/" out
  out=$(s3_get "?list-type=2&prefix=${prefix//\//%2F}")
  grep -q '<ListBucketResult' <<<"$out" || die "listing node 1's pins failed: $out"
  { xml_values Key <<<"$out" || true; } | sed 's|.*/||' | sort -u
}
# wait_pins WANT: until node 1's pins are WANT (a list as pins prints it; up to 30 s).
wait_pins() {
  local got
  for _ in $(seq 1 100); do
    got=$(pins); [ "$got" = "$1" ] && return 0
    sleep 0.3
  done
  die "node 1's pins are '$got', want '$1'"
}
# clusters: node 2's clusters, sorted, one a line.
clusters() {
  { rds_query DescribeDBClusters | xml_values DBClusterIdentifier || true; } | sort -u
}
# clone_key CLUSTER: what names node 2's clone CLUSTER in its pin (its DbClusterResourceId,
# unique on node 2 across deletions and re-creations of one identifier).
clone_key() { rds_query DescribeDBClusters DBClusterIdentifier="$1" | xml_values DbClusterResourceId; }
pin_of() { echo "$N2_ID-$(clone_key "$1").json"; }
# pins_match_clusters: node 2's clones of node 1 and the pins under node 1's store name the same
# set: no pin without its clone, no clone without its pin (every cluster of node 2 is a clone
# of node 1 here).
pins_match_clusters() {
  local want c
  want=$(for c in $(clusters); do pin_of "$c"; done | sort)
  [ "$(pins)" = "$want" ] || die "node 1's pins '$(pins | tr '\n' ' ')' but node 2's clusters" \
    "'$(clusters | tr '\n' ' ')'"
}
# head_covers EPOCH: node 1's shipped HEAD is past EPOCH (the upload lag says what is not up
# yet), plus a second for the metric's own age.
head_covers() {
  local lag
  for _ in $(seq 1 100); do
    lag=$(metric rewind_objstore_upload_lag_seconds)
    awk -v n="$(date +%s.%N)" -v l="$lag" -v a="$1" 'BEGIN { exit !(n - l > a + 1) }' && return 0
    sleep 0.3
  done
  die "node 1's upload lag is ${lag}s 30 s after the writes"
}
# peer_clone ID EPOCH: node 2's copy-on-write clone ID of node 1's lab as of EPOCH.
peer_clone() {
  aws_rds restore-db-cluster-to-point-in-time --source-db-cluster-identifier "$ARN" \
    --restore-type copy-on-write --restore-to-time "$(iso "$2")" --db-cluster-identifier "$1"
}
with_writer() {  # with_writer ID: a writer ID-1 for cluster ID, answering SQL
  aws_rds create-db-instance --db-instance-identifier "$1-1" --db-cluster-identifier "$1" \
    --engine aurora-mysql --db-instance-class db.r5.large >/dev/null
  wait_instance "$1-1"
  wait_sql "$1"
}
# delete_clone ID: its writer (if any) and itself deleted on node 2, proved gone.
delete_clone() {
  local pid; pid=$(mariadbd_of "$1")
  if rds_query DescribeDBInstances DBInstanceIdentifier="$1-1" | grep -q '<DescribeDBInstancesResponse'; then
    aws_rds delete-db-instance --db-instance-identifier "$1-1" --skip-final-snapshot >/dev/null
    wait_instance_gone "$1-1"
  fi
  aws_rds delete-db-cluster --db-cluster-identifier "$1" --skip-final-snapshot >/dev/null
  wait_cluster_gone "$1"
  # shellcheck disable=SC2086 # pid: empty or one pid
  assert_cluster_gone "$1" $pid
}
# state CLUSTER: "count sum after-T rows" of t.
state() { sql "$1" "SELECT COUNT(*), SUM(v), SUM(tag <> 'before') FROM t" | tr '\t' ' '; }

# ---------------------------------------------------------------------------------------------
log "node 1: the lab cluster, rows, T, rows and updates after T"
node 1
e2e_start
create_cluster_with_writer lab 86400
sql lab "CREATE TABLE t (id INT PRIMARY KEY, v BIGINT, tag VARCHAR(16));
         SET SESSION max_recursive_iterations = 10000;
         INSERT INTO t WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < 3000)
         SELECT n, n, 'before' FROM s"
WANT_T="3000 4501500 0"
[ "$(state lab)" = "$WANT_T" ] || die "lab holds $(state lab), want $WANT_T"
sleep 1.1; T=$(date +%s); sleep 1.1
sql lab "INSERT INTO t WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < 500)
         SELECT 3000 + n, 1, 'after' FROM s;
         UPDATE t SET v = v + 1000000 WHERE id <= 100"
N1_STATE=$(state lab)
head_covers "$(date +%s.%N)"
N1_ID=$(store_id 1)
log "T = $(iso "$T"): lab held $WANT_T (count sum after), now $N1_STATE; node 1's store $N1_ID"

log "node 2: its own store, node 1 as peer $PEER; bad sources and times refused"
node 2
e2e_start
N2_ID=$(store_id 2)
[ -z "$(clusters)" ] || die "node 2 lists clusters of its own before any: $(clusters)"
expect_aws_error DBClusterNotFoundFault restore-db-cluster-to-point-in-time \
  --source-db-cluster-identifier "arn:aws:rds:us-east-1:nosuchpeer:cluster:lab" \
  --restore-type copy-on-write --restore-to-time "$(iso "$T")" --db-cluster-identifier bad1
expect_aws_error DBClusterNotFoundFault restore-db-cluster-to-point-in-time \
  --source-db-cluster-identifier "arn:aws:rds:us-east-1:$PEER:cluster:nosuch" \
  --restore-type copy-on-write --restore-to-time "$(iso "$T")" --db-cluster-identifier bad2
# (node 2's own account, or no ARN: a cluster of node 2, which has none)
expect_aws_error DBClusterNotFoundFault restore-db-cluster-to-point-in-time \
  --source-db-cluster-identifier lab \
  --restore-type copy-on-write --restore-to-time "$(iso "$T")" --db-cluster-identifier bad3
expect_aws_error DBClusterNotFoundFault restore-db-cluster-to-point-in-time \
  --source-db-cluster-identifier arn:aws:rds:us-east-1:123456789012:cluster:lab \
  --restore-type copy-on-write --restore-to-time "$(iso "$T")" --db-cluster-identifier bad3
expect_aws_error InvalidRestoreFault restore-db-cluster-to-point-in-time \
  --source-db-cluster-identifier "$ARN" \
  --restore-type copy-on-write --restore-to-time "$(iso $(($(date +%s) + 3600)))" --db-cluster-identifier bad4
expect_aws_error InvalidRestoreFault restore-db-cluster-to-point-in-time \
  --source-db-cluster-identifier "$ARN" \
  --restore-type copy-on-write --restore-to-time 2020-01-01T00:00:00Z --db-cluster-identifier bad5
[ -z "$(clusters)" ] || die "refused clones left clusters on node 2: $(clusters)"
[ -z "$(pins)" ] || die "refused clones left pins under node 1's store: $(pins)"
views() {  # what node 2 keeps locally of node 1 (views are never deleted: object-store.md)
  echo "$(find "$DATA/peers" -mindepth 2 -maxdepth 2 -type d | wc -l) view(s) of node 1," \
    "$(du -sm "$DATA/peers" | cut -f1) MiB"
}
log "after the refusals node 2 keeps $(views)"

log "node 2: the peer clone of lab at T, and its writer"
T0=$(date +%s.%N)
out=$(peer_clone labclone "$T")
python3 -c 'import json,sys; d = json.load(sys.stdin)["DBCluster"]
assert d["DBClusterIdentifier"] == "labclone", d' <<<"$out" || die "unexpected answer: $out"
wait_available labclone
with_writer labclone
log "labclone serves in $(awk -v a="$(date +%s.%N)" -v b="$T0" 'BEGIN { printf "%.1f", a - b }') s"
got=$(state labclone)
[ "$got" = "$WANT_T" ] || die "node 2's clone holds $got (count sum after), lab held $WANT_T at T"
[ "$(clusters)" = labclone ] || die "node 2 lists '$(clusters | tr '\n' ' ')', want labclone alone"
PIN=$(pin_of labclone)
wait_pins "$PIN"
body=$(s3_get "$N1_PREFIX/rewind/v1/stores/$N1_ID/pins/$PIN")
python3 -c 'import json,sys; d = json.loads(sys.argv[1])
assert d["store_id"] == sys.argv[2] and d["pinned_by"] == sys.argv[3] and d["clone"] == sys.argv[4], d' \
  "$body" "$N1_ID" "$N2_ID" "$(clone_key labclone)" || die "the pin's body is not the clone's: $body"
log "the clone holds lab's rows of T ($got); pinned under node 1's store"

log "writes on node 2's clone stay on node 2; node 1 keeps serving and writing"
sql labclone "INSERT INTO t VALUES (900001, 5, 'node2'); UPDATE t SET v = 0 WHERE id = 1"
CLONE_STATE=$(state labclone)
[ "$CLONE_STATE" = "3001 4501504 1" ] || die "the clone holds $CLONE_STATE after its writes"
node 1
[ "$(state lab)" = "$N1_STATE" ] || die "lab holds $(state lab) after node 2's writes, had $N1_STATE"
sql lab "INSERT INTO t VALUES (800001, 7, 'node1')"
[ "$(sql lab "SELECT COUNT(*) FROM t WHERE tag = 'node1'")" = 1 ] || die "lab lost its new row"
N1_STATE=$(state lab)
node 2
[ "$(state labclone)" = "$CLONE_STATE" ] || die "node 1's write reached node 2's clone: $(state labclone)"

log "node 2 restarted: the clone serves again"
e2e_stop TERM
e2e_start
wait_available labclone
wait_instance labclone-1
wait_sql labclone
[ "$(state labclone)" = "$CLONE_STATE" ] || die "after node 2's restart the clone holds $(state labclone)"
pins_match_clusters

log "the clone deleted on node 2, node 2 killed after its volume went, before its pin did"
pid=$(mariadbd_of labclone)
aws_rds delete-db-instance --db-instance-identifier labclone-1 --skip-final-snapshot >/dev/null
wait_instance_gone labclone-1
e2e_stop TERM
REWIND_FAILPOINTS=cluster.delete.volume_deleted e2e_start
aws_rds delete-db-cluster --db-cluster-identifier labclone --skip-final-snapshot >"$E2E_DIR/act.out" 2>&1 ||
  log "   (the call failed, node 2 dying first: $(tail -c 300 "$E2E_DIR/act.out" | tr '\n' ' '))"
e2e_wait_failpoint cluster.delete.volume_deleted
REWIND_FAILPOINTS="" e2e_start
wait_cluster_gone labclone
# shellcheck disable=SC2086 # pid: empty or one pid
assert_cluster_gone labclone $pid
wait_pins ""
log "the deletion finished at the restart: labclone gone, its pin too"
node 1
[ "$(state lab)" = "$N1_STATE" ] || die "lab holds $(state lab) after node 2 deleted its clone"

# ---------------------------------------------------------------------------------------------
# The kill driver. For each failpoint: node 2 armed and asked for pk<N> at a T, dead by the
# failpoint, restarted unarmed and settled. T is labclone's (its view of node 1 reused), but
# for view_ready, the step right after the view is found or built: a new T on node 1 then (rows
# before it known), past every view node 2 has, so that it dies with a view just built.
# settle2: node 2's clusters and instances all available (or none), up to 180 s.
settle2() {
  local states
  for _ in $(seq 1 600); do
    # (xml_values fails on an answer without any: none is fine here)
    states=$( { rds_query DescribeDBClusters | xml_values Status || true
                rds_query DescribeDBInstances | xml_values DBInstanceStatus || true; } | sort -u)
    [ -z "$states" ] || [ "$states" = available ] && return 0
    grep -qx failed <<<"$states" && die "after the restart: a failed cluster or instance on node 2"
    sleep 0.3
  done
  die "node 2 not settled 180 s after the restart: $(tr '\n' ' ' <<<"$states")"
}
exists_cluster() {
  local out; out=$(rds_query DescribeDBClusters DBClusterIdentifier="$1")
  grep -q '<DescribeDBClustersResponse' <<<"$out" && return 0
  grep -q '<Code>DBClusterNotFoundFault</Code>' <<<"$out" || die "DescribeDBClusters $1: $out"
  return 1
}
N=0
T_KILL=$(date +%s)
for fp in "${PEER_FPS[@]}"; do
  N=$((N + 1))
  log "[$N/${#PEER_FPS[@]}] $fp: node 2 dies during a peer clone pk$N"
  KT=$T KT_STATE=$WANT_T
  if [ "$fp" = cluster.peer_clone.view_ready ]; then
    node 1
    sql lab "INSERT INTO t VALUES ($((700000 + N)), 1, 'k$N')"
    sleep 1.1; KT=$(date +%s); KT_STATE=$(state lab); sleep 1.1
    sql lab "INSERT INTO t VALUES ($((710000 + N)), 1, 'k$N')"
    head_covers "$(date +%s.%N)"
  fi
  node 2
  e2e_stop TERM
  REWIND_FAILPOINTS=$fp e2e_start
  peer_clone "pk$N" "$KT" >"$E2E_DIR/act.out" 2>&1 ||
    log "   (the call failed, node 2 dying first: $(tail -c 300 "$E2E_DIR/act.out" | tr '\n' ' '))"
  e2e_wait_failpoint "$fp"
  REWIND_FAILPOINTS="" e2e_start
  settle2
  if exists_cluster "pk$N"; then
    with_writer "pk$N"
    got=$(state "pk$N")
    [ "$got" = "$KT_STATE" ] || die "pk$N holds $got, lab held $KT_STATE at its T"
    pins_match_clusters
    log "   whole: pk$N serves lab's rows of its T, pinned; deleting it"
    delete_clone "pk$N"
    wait_pins ""
  else
    log "   absent: pk$N was never made"
  fi
  pins_match_clusters
done
log "${#PEER_FPS[@]} peer_clone failpoints killed node 2 in $(($(date +%s) - T_KILL)) s; whole or absent"

log "node 1 stopped: a time after its last shipped HEAD is refused"
node 1
e2e_stop TERM
sleep 2
node 2
expect_aws_error InvalidRestoreFault restore-db-cluster-to-point-in-time \
  --source-db-cluster-identifier "$ARN" --restore-type copy-on-write \
  --restore-to-time "$(iso $(($(date +%s) - 1)))" --db-cluster-identifier bad6
[ -z "$(clusters)" ] || die "the refusal left a cluster on node 2: $(clusters)"
[ -z "$(pins)" ] || die "the refusal left a pin under node 1's store: $(pins)"
log "node 2 keeps $(views), with no clone left"
log "PASS"
