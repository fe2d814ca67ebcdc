#!/usr/bin/env bash
# Time travel and diff at size, through the real CLI (issue 17's targets: an instance ready in
# <= 1 s at 1 M rows; a 1 M-row table with 1 % changed diffs in <= 10 s).
#   BUILD_DIR=build bash bench/asof_bench.sh [ROWS] [REPS]
# A real rewindd on a temporary data dir (tests/e2e/lib.sh), one cluster, sysbench prepare of
# ROWS rows (default 1000000); T1 after it; then 1 % of the rows updated (k = k + 1); T2.
# Prints: time-travel ready time (the server's own measure, and the CLI call's wall time) at T1,
# REPS times (default 3), and `rewind diff --table mylab.sbtest1` wall time in each format.
BUILD_DIR=${BUILD_DIR:-$(cd "$(dirname "$0")/../build" && pwd)}
source "$(dirname "$0")/../tests/e2e/lib.sh"
ROWS=${1:-1000000}
REPS=${2:-3}
MASTER_PASSWORD="Bench-pass-$RANDOM"
REWIND="$BUILD_DIR/src/cli/rewind"
rw() { "$REWIND" --endpoint "http://127.0.0.1:$API_PORT" --credentials "$DATA/credentials" "$@"; }
iso() { date -u -d "@$1" +%Y-%m-%dT%H:%M:%S.%NZ | sed 's/\([0-9]\{6\}\)[0-9]*Z$/\1Z/'; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }

e2e_start
create_cluster_with_writer bench 86400
t0=$(date +%s.%N); sysbench_prepare bench; log "prepare of $ROWS rows: $(secs "$t0" "$(date +%s.%N)") s"
sleep 2; T1=$(date +%s.%N); sleep 1
sql bench "UPDATE sbtest1 SET k = k + 1 WHERE id % 100 = 0"
sleep 2; T2=$(date +%s.%N); sleep 1

echo "| rows | time-travel ready s (server) | CLI call s |"
echo "|---|---|---|"
for _ in $(seq 1 "$REPS"); do
  t0=$(date +%s.%N)
  OUT=$(rw time-travel bench --at "$(iso "$T1")")
  wall=$(secs "$t0" "$(date +%s.%N)")
  ready=$(echo "$OUT" | sed -n 's/.*ready in \([0-9.]*\) s.*/\1/p')
  id=$(echo "$OUT" | awk '/^Time-travel instance/ { print $3 }')
  port=$(echo "$OUT" | awk '/^Port:/ { print $2 }')
  n=$(mysql -h 127.0.0.1 -P "$port" -u masteruser -p"$MASTER_PASSWORD" -N -B mylab \
        -e "SELECT COUNT(*) FROM sbtest1")
  [ "$n" = "$ROWS" ] || die "the instance shows $n rows"
  echo "| $ROWS | $ready | $wall |"
  rw time-travel bench --stop "$id" >/dev/null
done

echo
echo "| rows | changed | format | diff s | output bytes |"
echo "|---|---|---|---|---|"
for f in table json sql; do
  t0=$(date +%s.%N)
  rw diff bench --from "$(iso "$T1")" --to "$(iso "$T2")" --table mylab.sbtest1 --format "$f" \
    >"$E2E_DIR/diff.$f"
  wall=$(secs "$t0" "$(date +%s.%N)")
  echo "| $ROWS | $((ROWS / 100)) | $f | $wall | $(stat -c %s "$E2E_DIR/diff.$f") |"
done
grep -q "^  0 inserted, 0 deleted, $((ROWS / 100)) updated$" "$E2E_DIR/diff.table" ||
  die "the diff did not find the $((ROWS / 100)) updates: $(tail -2 "$E2E_DIR/diff.table")"
