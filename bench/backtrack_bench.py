#!/usr/bin/python3
"""Backtrack and clone times through the real API, as a user sees them.

   bench/backtrack_bench.py [--rows 100000,1000000,5000000] [--changes-mb 0,100,1000] [--reps 5]

For each table size: a real rewindd on a temporary data dir, a cluster with a writer, sysbench
prepare; T = a moment after it. Then, for each amount of change written since T (sysbench
oltp_write_only until the store's log grew by that much):
  backtrack time = BacktrackDBCluster call -> the cluster answers queries with the data as of T
                   (a one-row marker table shows its value at T; the whole table's COUNT and
                   SUM(k) are then checked untimed); median of REPS backtracks that alternate
                   between T and the state after the changes (each crosses all the changes);
  clone time     = RestoreDBClusterToPointInTime (copy-on-write, at T) + CreateDBInstance ->
                   the clone shows the marker of T (its table then checked too); median of REPS.
Prints a Markdown table for docs/benchmarks.md. Needs a built tree (build/) and root (FUSE).
"""
import argparse, datetime, os, random, shutil, signal, statistics, subprocess, sys, tempfile, time
import boto3

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REWINDD = os.path.join(os.environ.get("BUILD_DIR", os.path.join(ROOT, "build")), "src", "cli", "rewindd")
PASSWORD = "Bench-pass-123"


def port_in_use(port):
    """Whether any TCP socket (listening or connected, v4 or v6) has `port` as its local port."""
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as f:
            next(f)
            if any(int(line.split()[1].rsplit(":", 1)[1], 16) == port for line in f):
                return True
    return False


def free_port():
    """A port for a server started later, from below the kernel's ephemeral range (where no
    client connection can take it first) with 200 ports of room above; tests/free_port.sh."""
    with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
        lo, hi = map(int, f.read().split())
    first, last = 20000, lo - 200
    if last < first + 1000:
        first, last = hi + 1, 65000
    for _ in range(200):
        port = random.randrange(first, last)
        if not port_in_use(port):
            return port
    sys.exit(f"no free port in {first}..{last}")


def log_bytes(data):
    total = 0
    for dirpath, _, files in os.walk(os.path.join(data, "store", "log")):
        total += sum(os.path.getsize(os.path.join(dirpath, f)) for f in files)
    return total


class Rewind:
    def __init__(self):
        self.tmp = tempfile.mkdtemp(prefix="rewind-bench-", dir="/var/tmp")
        os.chmod(self.tmp, 0o711)  # mariadbd runs as the engine user (mysql): it must traverse it
        self.data = os.path.join(self.tmp, "data")
        self.api = free_port()
        first = free_port()  # clusters get ports counting up from here
        self.log = open(os.path.join(self.tmp, "rewindd.log"), "w")
        self.proc = subprocess.Popen([REWINDD, "--data-dir", self.data, "--listen",
                                      f"127.0.0.1:{self.api}", "--first-port", str(first)],
                                     stdout=self.log, stderr=subprocess.STDOUT)
        cred = os.path.join(self.data, "credentials")
        for _ in range(200):
            if os.path.exists(cred) and os.path.getsize(cred) > 0:
                break
            time.sleep(0.05)
        os.environ["AWS_SHARED_CREDENTIALS_FILE"] = cred
        os.environ["AWS_CONFIG_FILE"] = "/dev/null"
        self.rds = boto3.Session(profile_name="rewind").client(
            "rds", region_name="us-east-1", endpoint_url=f"http://127.0.0.1:{self.api}")
        for _ in range(200):
            try:
                self.rds.describe_db_clusters()
                break
            except Exception:
                time.sleep(0.05)

    def close(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(120)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def cluster(self, cid):
        return self.rds.describe_db_clusters(DBClusterIdentifier=cid)["DBClusters"][0]

    def wait(self, cid, status="available", timeout=600):
        t0 = time.time()
        while time.time() - t0 < timeout:
            if self.cluster(cid)["Status"] == status:
                return
            time.sleep(0.02)
        raise RuntimeError(f"{cid} not {status}")

    def mysql(self, cid, sql, timeout=1.0):
        c = self.cluster(cid)
        return subprocess.run(["mysql", "-h", c["Endpoint"], "-P", str(c["Port"]), "-u",
                               "masteruser", f"-p{PASSWORD}", "-N", "-B", "mylab", "-e", sql],
                              capture_output=True, text=True, timeout=60)

    def wait_answer(self, cid, sql, want):
        while True:
            r = self.mysql(cid, sql)
            if r.returncode == 0 and r.stdout.strip() == want:
                return
            time.sleep(0.02)

    def create(self, cid):
        self.rds.create_db_cluster(DBClusterIdentifier=cid, Engine="aurora-mysql",
                                   MasterUsername="masteruser", MasterUserPassword=PASSWORD,
                                   DatabaseName="mylab", BacktrackWindow=86400)
        self.wait(cid)
        self.rds.create_db_instance(DBInstanceIdentifier=cid + "-1", DBClusterIdentifier=cid,
                                    Engine="aurora-mysql", DBInstanceClass="db.r5.large")
        while self.rds.describe_db_instances(DBInstanceIdentifier=cid + "-1")[
                "DBInstances"][0]["DBInstanceStatus"] != "available":
            time.sleep(0.05)

    def sysbench(self, cid, *args):
        c = self.cluster(cid)
        subprocess.run(["sysbench", "oltp_write_only", f"--mysql-host={c['Endpoint']}",
                        f"--mysql-port={c['Port']}", "--mysql-user=masteruser",
                        f"--mysql-password={PASSWORD}", "--mysql-db=mylab", "--tables=1",
                        *args], check=True, capture_output=True)


def bench_size(rows, changes_mb, reps):
    out = []
    rw = Rewind()
    try:
        rw.create("bench")
        t0 = time.time()
        rw.sysbench("bench", f"--table-size={rows}", "--threads=2", "prepare")
        prepare_s = time.time() - t0
        # Timed: until a one-row marker table answers with the value it had at the target moment
        # (a scan of sbtest1 would time the query, not the backtrack: 1 s at 5 M rows). Then,
        # untimed, the whole table must match too.
        count_sql = "SELECT COUNT(*), SUM(k) FROM sbtest1"
        marker_sql = "SELECT v FROM marker"
        rw.mysql("bench", "CREATE TABLE marker (v INT); INSERT INTO marker VALUES (0)")
        at_t = rw.mysql("bench", count_sql).stdout.strip()
        time.sleep(1.1)
        T = datetime.datetime.now(datetime.timezone.utc)
        time.sleep(1.1)
        written = 0
        base = log_bytes(rw.data)
        for mb in changes_mb:
            while written < mb * 1e6:
                rw.sysbench("bench", f"--table-size={rows}", "--threads=4", "--time=5", "run")
                written = log_bytes(rw.data) - base
            rw.mysql("bench", f"UPDATE marker SET v = {mb + 1}")
            time.sleep(1.1)
            after = datetime.datetime.now(datetime.timezone.utc)
            at_after = rw.mysql("bench", count_sql).stdout.strip()
            time.sleep(1.1)
            bt = []
            for i in range(reps):
                to, marker, want = (T, "0", at_t) if i % 2 == 0 else (after, str(mb + 1), at_after)
                s = time.time()
                rw.rds.backtrack_db_cluster(DBClusterIdentifier="bench", BacktrackTo=to)
                rw.wait_answer("bench", marker_sql, marker)
                bt.append(time.time() - s)
                rw.wait("bench")
                got = rw.mysql("bench", count_sql).stdout.strip()
                if got != want:
                    raise RuntimeError(f"backtrack to {to}: table holds {got}, expected {want}")
            cl = []
            for i in range(reps):
                cid = f"clone{mb}x{i}"
                s = time.time()
                rw.rds.restore_db_cluster_to_point_in_time(
                    SourceDBClusterIdentifier="bench", DBClusterIdentifier=cid,
                    RestoreType="copy-on-write", RestoreToTime=T)
                rw.wait(cid)
                rw.rds.create_db_instance(DBInstanceIdentifier=cid + "-1",
                                          DBClusterIdentifier=cid, Engine="aurora-mysql",
                                          DBInstanceClass="db.r5.large")
                rw.wait_answer(cid, marker_sql, "0")
                cl.append(time.time() - s)
                got = rw.mysql(cid, count_sql).stdout.strip()
                if got != at_t:
                    raise RuntimeError(f"clone at {T}: table holds {got}, expected {at_t}")
                rw.rds.delete_db_instance(DBInstanceIdentifier=cid + "-1")
                for _ in range(600):
                    try:
                        rw.rds.delete_db_cluster(DBClusterIdentifier=cid, SkipFinalSnapshot=True)
                        break
                    except rw.rds.exceptions.InvalidDBClusterStateFault:
                        time.sleep(0.1)
            out.append((rows, prepare_s, written / 1e6, statistics.median(bt), min(bt), max(bt),
                        statistics.median(cl), min(cl), max(cl)))
            print(f"rows={rows} changes={written/1e6:.0f} MB backtrack median {statistics.median(bt):.2f}s "
                  f"clone median {statistics.median(cl):.2f}s", file=sys.stderr, flush=True)
    finally:
        rw.close()
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", default="100000,1000000,5000000")
    ap.add_argument("--changes-mb", default="0,100,1000")
    ap.add_argument("--reps", type=int, default=5)
    a = ap.parse_args()
    rows = [int(x) for x in a.rows.split(",")]
    changes = [int(x) for x in a.changes_mb.split(",")]
    results = []
    for r in rows:
        results += bench_size(r, changes, a.reps)
    print(f"\n### Backtrack and clone time (bench/backtrack_bench.py, "
          f"{datetime.date.today()}, median of {a.reps})\n")
    print("| rows | prepare s | changes since T (MB of log) | backtrack s (min–max) | clone s (min–max) |")
    print("|---|---|---|---|---|")
    for (rows_, prep, mb, bt, btmin, btmax, cl, clmin, clmax) in results:
        print(f"| {rows_:,} | {prep:.1f} | {mb:.0f} | {bt:.2f} ({btmin:.2f}–{btmax:.2f}) | "
              f"{cl:.2f} ({clmin:.2f}–{clmax:.2f}) |")


if __name__ == "__main__":
    main()
