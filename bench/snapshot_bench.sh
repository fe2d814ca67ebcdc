#!/usr/bin/env bash
# Cluster snapshots at size (issue 16's goal: a snapshot available in <= 0.5 s whatever the size).
#   BUILD_DIR=build bash bench/snapshot_bench.sh [ROWS...] [--reps N]
# A real rewindd on a temporary data dir (tests/e2e/lib.sh). For each size (default 1000000 and
# 5000000): one cluster, sysbench prepare of ROWS rows; then REPS times (default 3), timed by boto3
# from the call to the answer that matters:
#   snapshot  create-db-cluster-snapshot until describe says `available`;
#   restore   restore-db-cluster-from-snapshot until the cluster is `available`;
#   serving   + create-db-instance until the new writer answers SQL with all ROWS rows.
# Run it on a quiet machine (never while building); it prints a markdown table.
BUILD_DIR=${BUILD_DIR:-$(cd "$(dirname "$0")/../build" && pwd)}
source "$(dirname "$0")/../tests/e2e/lib.sh"
SIZES=()
REPS=3
while [ $# -gt 0 ]; do
  case "$1" in
    --reps) REPS=$2; shift 2 ;;
    *) SIZES+=("$1"); shift ;;
  esac
done
[ ${#SIZES[@]} -gt 0 ] || SIZES=(1000000 5000000)
MASTER_PASSWORD="Bench-pass-$RANDOM"
command -v sysbench >/dev/null || die "missing sysbench"

e2e_start
echo "| rows | snapshot s | restore (cluster available) s | restore + writer serving s |"
echo "|---|---|---|---|"
for ROWS in "${SIZES[@]}"; do
  src="b$ROWS"
  create_cluster_with_writer "$src" 86400
  wait_sql "$src"
  t0=$(date +%s.%N); sysbench_prepare "$src"
  log "prepare of $ROWS rows: $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }') s"
  /usr/bin/python3 - "http://127.0.0.1:$API_PORT" "$src" "$ROWS" "$REPS" "$MASTER_PASSWORD" <<'PY' ||
import subprocess, sys, time
import boto3
endpoint, src, rows, reps, password = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
rds = boto3.Session(profile_name="rewind", region_name="us-east-1").client("rds", endpoint_url=endpoint)

def until(check, what, limit=600):
    start = time.monotonic()
    while not check():
        if time.monotonic() - start > limit:
            sys.exit(f"{what}: not done after {limit} s")
        time.sleep(0.02)

def snapshot_status(sid):
    return rds.describe_db_cluster_snapshots(DBClusterSnapshotIdentifier=sid)["DBClusterSnapshots"][0]["Status"]

def cluster(cid):
    return rds.describe_db_clusters(DBClusterIdentifier=cid)["DBClusters"][0]

def count_rows(c):
    out = subprocess.run(["mysql", "-h", c["Endpoint"], "-P", str(c["Port"]), "-u", "masteruser",
                          f"-p{password}", "-N", "-B", "mylab", "-e", "SELECT COUNT(*) FROM sbtest1"],
                         capture_output=True, text=True)
    return int(out.stdout) if out.returncode == 0 and out.stdout.strip().isdigit() else -1

def instance_gone(iid):
    try:
        rds.describe_db_instances(DBInstanceIdentifier=iid)
        return False
    except rds.exceptions.DBInstanceNotFoundFault:
        return True

for rep in range(reps):
    sid, cid = f"{src}-s{rep}", f"{src}-r{rep}"
    t0 = time.monotonic()
    rds.create_db_cluster_snapshot(DBClusterIdentifier=src, DBClusterSnapshotIdentifier=sid)
    until(lambda: snapshot_status(sid) == "available", f"snapshot {sid}")
    snap_s = time.monotonic() - t0
    t0 = time.monotonic()
    rds.restore_db_cluster_from_snapshot(DBClusterIdentifier=cid, SnapshotIdentifier=sid,
                                         Engine="aurora-mysql")
    until(lambda: cluster(cid)["Status"] == "available", f"restore {cid}")
    restore_s = time.monotonic() - t0
    rds.create_db_instance(DBInstanceIdentifier=f"{cid}-1", DBClusterIdentifier=cid,
                           Engine="aurora-mysql", DBInstanceClass="db.r5.large")
    c = cluster(cid)
    until(lambda: count_rows(c) == rows, f"{cid} serving {rows} rows")
    serving_s = time.monotonic() - t0
    print(f"| {rows} | {snap_s:.3f} | {restore_s:.3f} | {serving_s:.2f} |", flush=True)
    rds.delete_db_instance(DBInstanceIdentifier=f"{cid}-1")
    until(lambda: instance_gone(f"{cid}-1"), f"delete {cid}-1")
    rds.delete_db_cluster(DBClusterIdentifier=cid, SkipFinalSnapshot=True)
    rds.delete_db_cluster_snapshot(DBClusterSnapshotIdentifier=sid)
PY
    die "the timed runs failed"
done
log "done"
