#!/usr/bin/env bash
# Concurrent operations through the real API (boto3 calls issued back to back, each bounded in
# time): a backtrack while a clone of the same cluster is being made, a delete while a backtrack
# runs, two clones at once, a backtrack during heavy writes. Each gets a correct result or
# Aurora's error, and nothing deadlocks (every wait has a deadline).
source "$(dirname "$0")/lib.sh"
ROWS=20000
MASTER_PASSWORD="Conc-pass-$RANDOM$RANDOM"

e2e_start
create_cluster_with_writer cc 86400
sysbench_prepare cc
sql cc "CREATE TABLE m (id INT PRIMARY KEY)"
sql cc "INSERT INTO m VALUES (1)"
sleep 1.2
T1=$(date +%s)
sleep 1.2
sql cc "INSERT INTO m VALUES (2)"
C_T1_ROWS=1

log "heavy writes on cc in the background"
sysbench oltp_write_only --threads=4 --mysql-host=127.0.0.1 --mysql-port="$(cluster_field cc Port)" \
  --mysql-user=masteruser --mysql-password="$MASTER_PASSWORD" --mysql-db=mylab --tables=1 \
  --table-size="$ROWS" --time=40 --mysql-ignore-errors=all run >/dev/null 2>&1 &
LOAD=$!
E2E_BG_PIDS+=("$LOAD")
sleep 3

API_PORT=$API_PORT T1=$T1 timeout 300 /usr/bin/python3 - <<'PY' || die "concurrent operations misbehaved"
import datetime, os, sys, time, boto3, botocore
rds = boto3.Session(profile_name="rewind").client(
    "rds", region_name="us-east-1", endpoint_url="http://127.0.0.1:" + os.environ["API_PORT"],
    config=botocore.config.Config(retries={"max_attempts": 1}, read_timeout=30))
T1 = datetime.datetime.fromtimestamp(int(os.environ["T1"]), datetime.timezone.utc)

def status(cid):
    return rds.describe_db_clusters(DBClusterIdentifier=cid)["DBClusters"][0]["Status"]

def wait(cid, want="available", deadline=120):
    end = time.time() + deadline
    while time.time() < end:
        s = status(cid)
        if s == want:
            return
        if s == "failed":
            raise SystemExit(f"{cid} failed")
        time.sleep(0.1)
    raise SystemExit(f"{cid} not {want} after {deadline} s (is {status(cid)}): deadlock?")

def code(fn, **kw):
    try:
        fn(**kw)
        return "ok"
    except botocore.exceptions.ClientError as e:
        return e.response["Error"]["Code"]

def refusal(fn, **kw):
    """The call must be refused: returns (code, message)."""
    try:
        fn(**kw)
    except botocore.exceptions.ClientError as e:
        return e.response["Error"]["Code"], e.response["Error"]["Message"]
    raise SystemExit(f"{fn.__name__}({kw}) was accepted; it must be refused")

def expect_refusal(what, want_code, want_text, fn, **kw):
    c, m = refusal(fn, **kw)
    print(f"{what}: {c}: {m}")
    assert c == want_code, (what, c, m)
    assert want_text in m, (what, f"the message does not say {want_text!r}", m)

# 1. Two clones at once, and a backtrack of their source while they are being made (under load).
a = code(rds.restore_db_cluster_to_point_in_time, SourceDBClusterIdentifier="cc",
         DBClusterIdentifier="cc-a", RestoreType="copy-on-write", RestoreToTime=T1)
b = code(rds.restore_db_cluster_to_point_in_time, SourceDBClusterIdentifier="cc",
         DBClusterIdentifier="cc-b", RestoreType="copy-on-write", UseLatestRestorableTime=True)
bt = code(rds.backtrack_db_cluster, DBClusterIdentifier="cc", BacktrackTo=T1)
print("two clones + a backtrack of their source:", a, b, bt)
assert a == "ok" and b == "ok", (a, b)
assert bt in ("ok", "InvalidDBClusterStateFault"), bt
wait("cc-a"); wait("cc-b"); wait("cc")
bts = rds.describe_db_cluster_backtracks(DBClusterIdentifier="cc")["DBClusterBacktracks"]
if bt == "ok":
    assert bts[-1]["Status"] == "completed" or any(x["Status"] == "completed" for x in bts), bts

# 2. While cc backtracks: a second backtrack, a delete of its writer and of the cluster are
# refused, each for its own reason (code and message).
bt1 = code(rds.backtrack_db_cluster, DBClusterIdentifier="cc", BacktrackTo=T1)
assert bt1 == "ok", bt1
expect_refusal("backtrack again", "InvalidDBClusterStateFault", "cc is already backtracking",
               rds.backtrack_db_cluster, DBClusterIdentifier="cc", BacktrackTo=T1)
expect_refusal("delete its writer", "InvalidDBInstanceState",
               "cannot be deleted while its cluster backtracks",
               rds.delete_db_instance, DBInstanceIdentifier="cc-1", SkipFinalSnapshot=True)
expect_refusal("delete the cluster (its writer is there)", "InvalidDBClusterStateFault",
               "still contains DB instances", rds.delete_db_cluster,
               DBClusterIdentifier="cc", SkipFinalSnapshot=True)
wait("cc")

# 2b. Delete during backtrack, refused because of the backtrack: cc-b's writer is being deleted
# (so it does not hold the delete back) and the backtrack queued behind that deletion keeps
# cc-b backtracking while the delete comes.
assert code(rds.create_db_instance, DBInstanceIdentifier="cc-b-1", DBClusterIdentifier="cc-b",
            Engine="aurora-mysql", DBInstanceClass="db.r5.large") == "ok"
end = time.time() + 180
while rds.describe_db_instances(DBInstanceIdentifier="cc-b-1")["DBInstances"][0]["DBInstanceStatus"] != "available":
    if time.time() > end:
        raise SystemExit("cc-b-1 not available after 180 s")
    time.sleep(0.2)
assert code(rds.delete_db_instance, DBInstanceIdentifier="cc-b-1", SkipFinalSnapshot=True) == "ok"
bt3 = code(rds.backtrack_db_cluster, DBClusterIdentifier="cc-b", BacktrackTo=T1,
           UseEarliestTimeOnPointInTimeUnavailable=True)
assert bt3 == "ok", bt3
expect_refusal("delete during backtrack", "InvalidDBClusterStateFault",
               "cc-b is backtracking; it cannot be deleted now", rds.delete_db_cluster,
               DBClusterIdentifier="cc-b", SkipFinalSnapshot=True)
wait("cc-b")

# 3. Deleting a clone while its sibling is being made from the same source.
c = code(rds.restore_db_cluster_to_point_in_time, SourceDBClusterIdentifier="cc",
         DBClusterIdentifier="cc-c", RestoreType="copy-on-write", UseLatestRestorableTime=True)
d = code(rds.delete_db_cluster, DBClusterIdentifier="cc-b", SkipFinalSnapshot=True)
print("clone cc-c while deleting cc-b:", c, d)
assert c == "ok" and d == "ok", (c, d)
wait("cc-c")
end = time.time() + 120
while time.time() < end:
    if code(rds.describe_db_clusters, DBClusterIdentifier="cc-b") == "DBClusterNotFoundFault":
        break
    time.sleep(0.2)
else:
    raise SystemExit("cc-b was never deleted")
print("all concurrent operations ended correctly")
PY
wait "$LOAD" 2>/dev/null || true
E2E_BG_PIDS=()

log "the results are right: cc and cc-a hold the state at T1"
[ "$(sql cc "SELECT COUNT(*) FROM m")" = "$C_T1_ROWS" ] || die "cc is not at T1 after its backtracks"
aws_rds create-db-instance --db-instance-identifier cc-a-1 --db-cluster-identifier cc-a \
  --engine aurora-mysql --db-instance-class db.r5.large >/dev/null
wait_instance cc-a-1
[ "$(sql cc-a "SELECT COUNT(*) FROM m")" = "$C_T1_ROWS" ] || die "clone cc-a is not at T1"
sql cc "CHECK TABLE sbtest1" | grep -q "status	OK" || die "CHECK TABLE sbtest1 on cc not OK"
log "PASS"
