#!/usr/bin/env bash
# End-to-end smoke test of rewindd through the real clients: starts rewindd on a temporary data
# dir (127.0.0.1 only, free high ports), drives it with Debian's /usr/bin/aws (awscli v2) and
# /usr/bin/python3 + boto3, connects with the mysql client, checks refusals (error code and exit
# status), backtracks once, deletes everything, stops rewindd with SIGTERM and checks that no
# mount, mariadbd or rewindd is left.
#
#   api_smoke_test.sh /path/to/rewindd
#
# Cleanup runs on every exit path: rewindd is stopped by its PID (SIGTERM, then SIGKILL), any
# mariadbd left behind is killed by the PID in DATA/run/*/mariadbd/mariadbd.pid after checking that its
# command line names that run dir, mounts under DATA/mnt are lazily unmounted, the temp dir is
# removed. Nothing is ever killed by name.
set -uo pipefail

REWINDD=${1:-${REWINDD:-}}
if [ -z "$REWINDD" ] || [ ! -x "$REWINDD" ]; then
  echo "usage: $0 /path/to/rewindd" >&2
  exit 2
fi
REWINDD=$(readlink -f "$REWINDD")
for tool in /usr/bin/aws /usr/bin/python3 mysql fusermount3 curl; do
  command -v "$tool" >/dev/null || { echo "missing tool: $tool" >&2; exit 2; }
done

TMP=$(mktemp -d "${TMPDIR:-/tmp}/rewind-e2e.XXXXXX")
chmod 0711 "$TMP"  # mariadbd runs as the engine user (mysql): it must traverse this
DATA=$TMP/data
LOG=$TMP/rewindd.log
REWINDD_PID=""
CLUSTER=e2e-lab
INSTANCE=e2e-lab-instance-1
PASSWORD='Lab-Secret-123'

log() { echo "[$(date -u +%H:%M:%S)] $*"; }

cleanup() {
  local rc=$?
  set +e
  if [ -n "$REWINDD_PID" ] && kill -0 "$REWINDD_PID" 2>/dev/null; then
    log "cleanup: stopping rewindd (pid $REWINDD_PID)"
    kill -TERM "$REWINDD_PID" 2>/dev/null
    for _ in $(seq 1 600); do kill -0 "$REWINDD_PID" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$REWINDD_PID" 2>/dev/null; then
      log "cleanup: rewindd did not stop; SIGKILL"
      kill -KILL "$REWINDD_PID" 2>/dev/null
    fi
    wait "$REWINDD_PID" 2>/dev/null
  fi
  # mariadbds an aborted rewindd may have left: only the one whose command line names its run dir.
  for pidfile in "$DATA"/run/*/mariadbd/mariadbd.pid "$DATA"/run/*/mariadbd.pid; do
    [ -f "$pidfile" ] || continue
    local run pid
    run=$(dirname "$pidfile"); run=${run%/mariadbd}
    pid=$(tr -dc '0-9' < "$pidfile")
    [ -n "$pid" ] || continue
    local cmd
    cmd=$(tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null)
    if [[ "$cmd" == *"$run/"* ]]; then
      log "cleanup: killing leftover mariadbd $pid ($run)"
      kill -KILL "$pid" 2>/dev/null
      for _ in $(seq 1 100); do [ -d "/proc/$pid" ] || break; sleep 0.1; done
    fi
  done
  # Mounts under DATA/mnt (deepest first).
  awk -v p="$DATA/mnt/" 'index($2, p) == 1 { print $2 }' /proc/mounts | sort -r |
    while read -r m; do
      log "cleanup: unmounting $m"
      fusermount3 -u -z "$m" 2>/dev/null || umount -l "$m" 2>/dev/null
    done
  if [ "$rc" -ne 0 ] && [ -f "$LOG" ]; then
    echo "---- rewindd log (tail) ----"
    tail -n 60 "$LOG"
    for e in "$DATA"/run/*/mariadbd/mariadbd.err; do
      [ -f "$e" ] && { echo "---- $e (tail) ----"; tail -n 20 "$e"; }
    done
  fi
  rm -rf "$TMP"
  if [ "$rc" -eq 0 ]; then log "PASS"; else log "FAIL (exit $rc)"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

fail() {
  echo "FAIL: $*" >&2
  exit 1
}

# ---- Ports: a block of 12 free ports in a high range; API on the first, clusters after it. ----
BASE=$(/usr/bin/python3 - <<'EOF'
import random, socket
def free(port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind(("127.0.0.1", port))
        return True
    except OSError:
        return False
    finally:
        s.close()
for _ in range(500):
    base = random.randrange(20000, 60000, 16)
    if all(free(p) for p in range(base, base + 12)):
        print(base)
        break
EOF
)
[ -n "$BASE" ] || fail "no free port block found"
API_PORT=$BASE
FIRST_PORT=$((BASE + 1))
ENDPOINT=http://127.0.0.1:$API_PORT

# ---- A clean client environment. ----
mkdir -p "$TMP/home"
unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN AWS_PROFILE AWS_DEFAULT_PROFILE \
  AWS_DEFAULT_REGION AWS_REGION AWS_DEFAULT_OUTPUT AWS_CA_BUNDLE AWS_ENDPOINT_URL \
  HTTP_PROXY HTTPS_PROXY http_proxy https_proxy ALL_PROXY all_proxy
export HOME=$TMP/home AWS_CONFIG_FILE=/dev/null AWS_EC2_METADATA_DISABLED=true AWS_PAGER=""
export AWS_SHARED_CREDENTIALS_FILE=$DATA/credentials NO_PROXY=127.0.0.1 no_proxy=127.0.0.1

aws_rds() {
  /usr/bin/aws --profile rewind --region us-east-1 --endpoint-url "$ENDPOINT" rds "$@"
}

# expect_error CODE cmd... : the command must fail with the CLI's error exit status (254) and
# name CODE on stderr.
expect_error() {
  local code=$1
  shift
  local out rc
  out=$("$@" 2>&1 >/dev/null)
  rc=$?
  [ "$rc" -eq 254 ] || fail "expected exit 254 and $code from '$*', got exit $rc: $out"
  grep -qF "An error occurred ($code)" <<<"$out" || fail "expected $code from '$*', got: $out"
  log "refused as expected: $code"
}

# json_check JSON PYTHON-EXPR... : each expression (over `d`, the parsed JSON) must be true.
json_check() {
  local json=$1
  shift
  /usr/bin/python3 - "$json" "$@" <<'EOF' || fail "JSON checks failed"
import json, sys
d = json.loads(sys.argv[1])
bad = [e for e in sys.argv[2:] if not eval(e, {"d": d})]
for e in bad:
    print("  check failed:", e, file=sys.stderr)
if bad:
    print(json.dumps(d, indent=2), file=sys.stderr)
    sys.exit(1)
EOF
}

# wait_for DESCRIPTION SECONDS cmd... : polls cmd (every 0.5 s) until it succeeds.
wait_for() {
  local what=$1 secs=$2
  shift 2
  local deadline=$((SECONDS + secs))
  until "$@" >/dev/null 2>&1; do
    [ $SECONDS -lt $deadline ] || fail "timed out after ${secs}s waiting for $what"
    sleep 0.5
  done
}

cluster_status_is() {
  [ "$(aws_rds describe-db-clusters --db-cluster-identifier "$1" \
        --query 'DBClusters[0].Status' --output text 2>/dev/null)" = "$2" ]
}
instance_status_is() {
  [ "$(aws_rds describe-db-instances --db-instance-identifier "$1" \
        --query 'DBInstances[0].DBInstanceStatus' --output text 2>/dev/null)" = "$2" ]
}
instance_gone() {
  local err
  err=$(aws_rds describe-db-instances --db-instance-identifier "$1" 2>&1 >/dev/null)
  grep -qF "(DBInstanceNotFound)" <<<"$err"
}
cluster_gone() {
  local err
  err=$(aws_rds describe-db-clusters --db-cluster-identifier "$1" 2>&1 >/dev/null)
  grep -qF "(DBClusterNotFoundFault)" <<<"$err"
}

# ---- Start rewindd. ----
log "starting rewindd on $ENDPOINT (clusters from port $FIRST_PORT), data dir $DATA"
"$REWINDD" --data-dir "$DATA" --listen "127.0.0.1:$API_PORT" --first-port "$FIRST_PORT" \
  --buffer-pool 64M >"$LOG" 2>&1 </dev/null &
REWINDD_PID=$!
wait_for "rewindd to serve" 60 aws_rds describe-db-clusters
kill -0 "$REWINDD_PID" 2>/dev/null || fail "rewindd exited"
[ "$(tr -dc '0-9' < "$DATA/rewindd.pid")" = "$REWINDD_PID" ] || fail "rewindd.pid does not hold $REWINDD_PID"
[ "$(stat -c %a "$DATA/credentials")" = 600 ] || fail "credentials file is not mode 0600"
grep -q '^\[rewind\]' "$DATA/credentials" || fail "credentials file has no [rewind] profile"
out=$(aws_rds describe-db-clusters) || fail "describe-db-clusters failed"
json_check "$out" 'd == {"DBClusters": []}'

# ---- Create a cluster and its writer instance. ----
log "create-db-cluster $CLUSTER"
out=$(aws_rds create-db-cluster --db-cluster-identifier "$CLUSTER" --engine aurora-mysql \
  --master-username masteruser --master-user-password "$PASSWORD" --database-name mylab \
  --backtrack-window 86400) || fail "create-db-cluster failed"
json_check "$out" 'd["DBCluster"]["DBClusterIdentifier"] == "e2e-lab"' \
  'd["DBCluster"]["Status"] == "creating"' 'd["DBCluster"]["BacktrackWindow"] == 86400'
wait_for "cluster available" 240 cluster_status_is "$CLUSTER" available
aws_rds wait db-cluster-available --db-cluster-identifier "$CLUSTER" || fail "waiter db-cluster-available"

log "create-db-instance $INSTANCE"
out=$(aws_rds create-db-instance --db-instance-identifier "$INSTANCE" \
  --db-instance-class db.r5.large --engine aurora-mysql --db-cluster-identifier "$CLUSTER") ||
  fail "create-db-instance failed"
json_check "$out" 'd["DBInstance"]["DBInstanceIdentifier"] == "e2e-lab-instance-1"' \
  'd["DBInstance"]["DBClusterIdentifier"] == "e2e-lab"'
wait_for "instance available" 240 instance_status_is "$INSTANCE" available
aws_rds wait db-instance-available --db-instance-identifier "$INSTANCE" ||
  fail "waiter db-instance-available"

# ---- Describe: the fields the lab and Aurora users rely on. ----
out=$(aws_rds describe-db-clusters --db-cluster-identifier "$CLUSTER") || fail "describe cluster"
json_check "$out" 'len(d["DBClusters"]) == 1' \
  'd["DBClusters"][0]["Status"] == "available"' \
  'd["DBClusters"][0]["Endpoint"] == "127.0.0.1"' \
  'd["DBClusters"][0]["ReaderEndpoint"] == "127.0.0.2"' \
  "d['DBClusters'][0]['Port'] >= $FIRST_PORT" \
  'd["DBClusters"][0]["Engine"] == "aurora-mysql"' \
  'd["DBClusters"][0]["EngineMode"] == "provisioned"' \
  'd["DBClusters"][0]["EngineVersion"] != ""' \
  'd["DBClusters"][0]["MasterUsername"] == "masteruser"' \
  'd["DBClusters"][0]["DatabaseName"] == "mylab"' \
  'd["DBClusters"][0]["BacktrackWindow"] == 86400' \
  '"EarliestBacktrackTime" in d["DBClusters"][0]' \
  '"EarliestRestorableTime" in d["DBClusters"][0]' \
  '"LatestRestorableTime" in d["DBClusters"][0]' \
  '"ClusterCreateTime" in d["DBClusters"][0]' \
  'd["DBClusters"][0]["CloneGroupId"] != ""' \
  'd["DBClusters"][0]["DBClusterArn"].endswith(":cluster:e2e-lab")' \
  'd["DBClusters"][0]["DbClusterResourceId"].startswith("cluster-")' \
  'd["DBClusters"][0]["MultiAZ"] is False and d["DBClusters"][0]["StorageEncrypted"] is False' \
  'd["DBClusters"][0]["DBClusterMembers"] == [{"DBInstanceIdentifier": "e2e-lab-instance-1", "IsClusterWriter": True, "DBClusterParameterGroupStatus": "in-sync", "PromotionTier": 1}]'
PORT=$(/usr/bin/python3 -c 'import json,sys; print(json.loads(sys.argv[1])["DBClusters"][0]["Port"])' "$out")
HOST=$(/usr/bin/python3 -c 'import json,sys; print(json.loads(sys.argv[1])["DBClusters"][0]["Endpoint"])' "$out")

out=$(aws_rds describe-db-instances --db-instance-identifier "$INSTANCE") || fail "describe instance"
json_check "$out" 'len(d["DBInstances"]) == 1' \
  'd["DBInstances"][0]["DBInstanceStatus"] == "available"' \
  "d['DBInstances'][0]['Endpoint'] == {'Address': '127.0.0.1', 'Port': $PORT}" \
  'd["DBInstances"][0]["DBClusterIdentifier"] == "e2e-lab"' \
  'd["DBInstances"][0]["DBInstanceClass"] == "db.r5.large"' \
  'd["DBInstances"][0]["Engine"] == "aurora-mysql"' \
  'd["DBInstances"][0]["DBInstanceArn"].endswith(":db:e2e-lab-instance-1")' \
  'd["DBInstances"][0]["DbiResourceId"].startswith("db-")' \
  '"InstanceCreateTime" in d["DBInstances"][0]' \
  'd["DBInstances"][0]["AvailabilityZone"] == "us-east-1a"'
out=$(aws_rds describe-db-instances --filters "Name=db-cluster-id,Values=$CLUSTER") ||
  fail "describe-db-instances --filters"
json_check "$out" '[i["DBInstanceIdentifier"] for i in d["DBInstances"]] == ["e2e-lab-instance-1"]'
out=$(aws_rds describe-db-instances --filters "Name=db-cluster-id,Values=nothing-here") ||
  fail "describe-db-instances --filters (none)"
json_check "$out" 'd == {"DBInstances": []}'

# The lab's progress check (step 7).
out=$(aws_rds describe-db-clusters --db-cluster-identifier "$CLUSTER") || fail "describe cluster"
grep -i EngineMode -A 2 <<<"$out" | grep Status >/dev/null ||
  fail "the lab's 'grep -i EngineMode -A 2 | grep Status' finds nothing"

# ---- Data plane. ----
mysql_lab() {
  mysql -h "$HOST" -P "$PORT" -u masteruser --password="$PASSWORD" mylab "$@"
}
[ "$(mysql_lab -N -B -e 'select 1')" = 1 ] || fail "mysql select 1"
log "mysql: select 1 OK on $HOST:$PORT"

# ---- reboot-db-instance: the engine restarts, the instance is available again. ----
expect_error DBInstanceNotFound aws_rds reboot-db-instance --db-instance-identifier nope
expect_error InvalidParameterCombination aws_rds reboot-db-instance \
  --db-instance-identifier "$INSTANCE" --force-failover
out=$(aws_rds reboot-db-instance --db-instance-identifier "$INSTANCE") || fail "reboot-db-instance"
json_check "$out" 'd["DBInstance"]["DBInstanceIdentifier"] == "e2e-lab-instance-1"' \
  'd["DBInstance"]["DBInstanceStatus"] == "rebooting"'
wait_for "instance available after the reboot" 240 instance_status_is "$INSTANCE" available
aws_rds wait db-instance-available --db-instance-identifier "$INSTANCE" ||
  fail "waiter db-instance-available after the reboot"
[ "$(mysql_lab -N -B -e 'select 1')" = 1 ] || fail "mysql select 1 after the reboot"
log "reboot-db-instance: available again, mysql OK"

# ---- Refusals through the CLI. ----
expect_error DBClusterNotFoundFault aws_rds describe-db-clusters --db-cluster-identifier no-such-cluster
expect_error DBClusterAlreadyExistsFault aws_rds create-db-cluster --db-cluster-identifier "$CLUSTER" \
  --engine aurora-mysql --master-username masteruser --master-user-password "$PASSWORD"
expect_error InvalidParameterValue aws_rds create-db-cluster --db-cluster-identifier e2e-other \
  --engine postgres --master-username masteruser --master-user-password "$PASSWORD"
FUTURE=$(date -u -d '+1 hour' +%Y-%m-%dT%H:%M:%SZ)
expect_error InvalidDBClusterStateFault aws_rds backtrack-db-cluster --db-cluster-identifier "$CLUSTER" \
  --backtrack-to "$FUTURE"
expect_error DBInstanceNotFound aws_rds describe-db-instances --db-instance-identifier no-such-instance
KEY_ID=$(awk -F' *= *' '$1 == "aws_access_key_id" { print $2 }' "$DATA/credentials")
printf '[rewind]\naws_access_key_id = %s\naws_secret_access_key = %s\n' "$KEY_ID" \
  'WrongSecretWrongSecretWrongSecretWrong123' > "$TMP/wrong-secret"
expect_error SignatureDoesNotMatch env AWS_SHARED_CREDENTIALS_FILE="$TMP/wrong-secret" \
  /usr/bin/aws --profile rewind --region us-east-1 --endpoint-url "$ENDPOINT" rds describe-db-clusters
printf '[rewind]\naws_access_key_id = AKIAUNKNOWNKEY000000\naws_secret_access_key = %s\n' \
  'WrongSecretWrongSecretWrongSecretWrong123' > "$TMP/unknown-key"
expect_error InvalidClientTokenId env AWS_SHARED_CREDENTIALS_FILE="$TMP/unknown-key" \
  /usr/bin/aws --profile rewind --region us-east-1 --endpoint-url "$ENDPOINT" rds describe-db-clusters

# ---- One backtrack, as in the lab: drop a table, go back to before the drop. ----
mysql_lab -e "CREATE TABLE sbtest1 (id INT PRIMARY KEY, v VARCHAR(20)); INSERT INTO sbtest1 VALUES (1,'one'),(2,'two');" ||
  fail "create table"
sleep 1.5
MARK=$(mysql_lab -N -B -e "SELECT DATE_FORMAT(current_timestamp(), '%Y-%m-%dT%H:%i:%sZ')")
sleep 1.5
mysql_lab -e "DROP TABLE sbtest1" || fail "drop table"
log "backtrack-db-cluster to $MARK"
out=$(aws_rds backtrack-db-cluster --db-cluster-identifier "$CLUSTER" --backtrack-to "$MARK") ||
  fail "backtrack-db-cluster"
json_check "$out" 'd["DBClusterIdentifier"] == "e2e-lab"' 'd["Status"] in ("pending", "applying", "completed")' \
  '"BacktrackIdentifier" in d and "BacktrackTo" in d and "BacktrackedFrom" in d'
BT_ID=$(/usr/bin/python3 -c 'import json,sys; print(json.loads(sys.argv[1])["BacktrackIdentifier"])' "$out")
wait_for "backtrack to complete" 120 cluster_status_is "$CLUSTER" available
out=$(aws_rds describe-db-cluster-backtracks --db-cluster-identifier "$CLUSTER" \
  --backtrack-identifier "$BT_ID") || fail "describe-db-cluster-backtracks"
json_check "$out" 'len(d["DBClusterBacktracks"]) == 1' \
  'd["DBClusterBacktracks"][0]["Status"] == "completed"'
wait_for "mysql after backtrack" 60 mysql_lab -e 'select 1'
[ "$(mysql_lab -N -B -e 'SELECT COUNT(*) FROM sbtest1')" = 2 ] || fail "sbtest1 not back after backtrack"
log "backtrack: sbtest1 is back"
out=$(aws_rds describe-events --source-type db-cluster --source-identifier "$CLUSTER" \
  --event-categories backtrack) || fail "describe-events"
json_check "$out" 'any(e["Message"] == "Backtrack completed" for e in d["Events"])'

# ---- ModifyDBCluster: new master password (applied at once), smaller backtrack window. ----
NEW_PASSWORD='Lab-Secret-456'
out=$(aws_rds modify-db-cluster --db-cluster-identifier "$CLUSTER" --backtrack-window 3600 \
  --master-user-password "$NEW_PASSWORD" --apply-immediately) || fail "modify-db-cluster"
json_check "$out" 'd["DBCluster"]["BacktrackWindow"] == 3600' 'd["DBCluster"]["Status"] == "available"'
[ "$(mysql -h "$HOST" -P "$PORT" -u masteruser --password="$NEW_PASSWORD" mylab -N -B -e 'select 1')" = 1 ] ||
  fail "login with the new master password"
expect_error InvalidParameterValue aws_rds modify-db-cluster --db-cluster-identifier "$CLUSTER" \
  --backtrack-window 0 --master-user-password short
out=$(aws_rds describe-db-clusters --db-cluster-identifier "$CLUSTER") || fail "describe cluster"
json_check "$out" 'd["DBClusters"][0]["BacktrackWindow"] == 3600'  # the refusal changed nothing
log "modify-db-cluster: password and backtrack window changed"

# ---- A copy-on-write clone (no instance: nothing runs on it) and its deletion. ----
out=$(aws_rds restore-db-cluster-to-point-in-time --source-db-cluster-identifier "$CLUSTER" \
  --db-cluster-identifier "$CLUSTER-clone" --restore-type copy-on-write --use-latest-restorable-time) ||
  fail "restore-db-cluster-to-point-in-time"
json_check "$out" 'd["DBCluster"]["DBClusterIdentifier"] == "e2e-lab-clone"' \
  'd["DBCluster"]["Status"] == "creating"'
wait_for "clone available" 120 cluster_status_is "$CLUSTER-clone" available
out=$(aws_rds describe-db-clusters --filters "Name=clone-group-id,Values=$(
  aws_rds describe-db-clusters --db-cluster-identifier "$CLUSTER" --query 'DBClusters[0].CloneGroupId' --output text)") ||
  fail "describe-db-clusters by clone group"
json_check "$out" 'sorted(c["DBClusterIdentifier"] for c in d["DBClusters"]) == ["e2e-lab", "e2e-lab-clone"]'
aws_rds delete-db-cluster --db-cluster-identifier "$CLUSTER-clone" --skip-final-snapshot >/dev/null ||
  fail "delete the clone"
wait_for "clone deleted" 120 cluster_gone "$CLUSTER-clone"
log "clone created and deleted"

# ---- boto3 (Debian python3-boto3), same credentials file. ----
/usr/bin/python3 - "$ENDPOINT" "$CLUSTER" <<'EOF' || fail "boto3 checks"
import sys
import boto3
endpoint, cluster = sys.argv[1], sys.argv[2]
rds = boto3.Session(profile_name="rewind", region_name="us-east-1").client("rds", endpoint_url=endpoint)
c = rds.describe_db_clusters(DBClusterIdentifier=cluster)["DBClusters"][0]
assert c["Status"] == "available", c
assert c["BacktrackWindow"] == 3600, c
assert c["DBClusterMembers"][0]["IsClusterWriter"] is True, c
try:
    rds.describe_db_clusters(DBClusterIdentifier="no-such-cluster")
    raise SystemExit("no error for an unknown cluster")
except rds.exceptions.DBClusterNotFoundFault as e:
    assert e.response["Error"]["Code"] == "DBClusterNotFoundFault"
    assert e.response["ResponseMetadata"]["HTTPStatusCode"] == 404
print("boto3 OK")
EOF

# ---- /metrics. ----
metrics=$(curl -sf "$ENDPOINT/metrics") || fail "GET /metrics"
grep -qF "rewind_cluster_status{cluster=\"$CLUSTER\",status=\"available\"} 1" <<<"$metrics" ||
  fail "metrics lack the cluster status gauge"
grep -qF 'rewind_api_calls_total{action="DescribeDBClusters",code="ok"}' <<<"$metrics" ||
  fail "metrics lack the API call counter"

# ---- Delete the instance and the cluster. ----
log "delete-db-instance, delete-db-cluster"
expect_error InvalidDBClusterStateFault aws_rds delete-db-cluster --db-cluster-identifier "$CLUSTER" \
  --skip-final-snapshot
out=$(aws_rds delete-db-instance --db-instance-identifier "$INSTANCE") || fail "delete-db-instance"
json_check "$out" 'd["DBInstance"]["DBInstanceStatus"] == "deleting"'
# As in Aurora, the cluster can be deleted as soon as its instances are being deleted.
out=$(aws_rds delete-db-cluster --db-cluster-identifier "$CLUSTER" --skip-final-snapshot) ||
  fail "delete-db-cluster"
json_check "$out" 'd["DBCluster"]["Status"] == "deleting"'
wait_for "instance deleted" 120 instance_gone "$INSTANCE"
aws_rds wait db-instance-deleted --db-instance-identifier "$INSTANCE" || fail "waiter db-instance-deleted"
wait_for "cluster deleted" 120 cluster_gone "$CLUSTER"
aws_rds wait db-cluster-deleted --db-cluster-identifier "$CLUSTER" || fail "waiter db-cluster-deleted"
out=$(aws_rds describe-db-clusters) || fail "describe-db-clusters after delete"
json_check "$out" 'd == {"DBClusters": []}'

# ---- SIGTERM: exit 0, nothing left behind. ----
log "stopping rewindd with SIGTERM"
kill -TERM "$REWINDD_PID"
deadline=$((SECONDS + 90))
while kill -0 "$REWINDD_PID" 2>/dev/null; do
  [ $SECONDS -lt $deadline ] || fail "rewindd did not exit within 90 s of SIGTERM"
  sleep 0.1
done
wait "$REWINDD_PID"
rc=$?
pid=$REWINDD_PID
REWINDD_PID=""
[ "$rc" -eq 0 ] || fail "rewindd exited with $rc after SIGTERM"
[ ! -d "/proc/$pid" ] || fail "rewindd pid $pid still exists"
[ ! -e "$DATA/rewindd.pid" ] || fail "rewindd.pid left behind"
if awk -v p="$DATA/" 'index($2, p) == 1 { found = 1 } END { exit !found }' /proc/mounts; then
  fail "mounts left under $DATA"
fi
for p in $(ps -eo pid=,comm= | awk '$2 == "mariadbd" { print $1 }'); do
  cmd=$(tr '\0' ' ' < "/proc/$p/cmdline" 2>/dev/null)
  if [[ "$cmd" == *"$DATA/"* ]]; then
    fail "mariadbd $p of this test is still running"
  fi
done
grep -q "TERM received" "$LOG" || fail "rewindd did not log the signal"
grep -q "rewindd: api CreateDBCluster 200 OK" "$LOG" || fail "rewindd did not log the API call"
if grep -qF -- "$PASSWORD" "$LOG"; then fail "the master password appears in the rewindd log"; fi
exit 0
