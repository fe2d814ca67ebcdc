#!/usr/bin/env bash
# The web console end to end, in headless Chromium (Debian's chromium, driven by playwright-core
# from console/node_modules; see console_e2e.mjs): a cluster with backtrack on gets the lab's
# sbtest1 (sysbench, small), then DROP TABLE sbtest1; in the browser: a wrong secret refused,
# login, the clusters page, 401 without the session and 403 without the CSRF token, the DROP
# found on the cluster's activity chart, the moment before it picked; in its preview an as-of
# COUNT(*) of sbtest1, the diff against now (sbtest1 dropped), restore-table (a foreign-key
# refusal for child alone, then sbtest1: plan, confirm, progress; checked through mysql from the
# browser's step); backtrack, progress until
# done, a clone at the same moment (with its writer), logout. Then sbtest1 is back, whole, through
# mysql, in the cluster and in the clone. Screenshots of each page go to
# CONSOLE_SCREENSHOT_DIR (default $BUILD_DIR/console-screenshots; docs/console/ has copies).
# Needs node, /usr/bin/chromium and a built console (scripts/setup.sh): fails loudly without.
source "$(dirname "$0")/lib.sh"
SRC=$(cd "$(dirname "$0")/../.." && pwd)
CONSOLE_DIR="$SRC/console"
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
SHOTS=${CONSOLE_SCREENSHOT_DIR:-$BUILD_DIR/console-screenshots}
MASTER_PASSWORD="Console-pass-$RANDOM"
ROWS=${ROWS:-20000}
REWIND="$BUILD_DIR/src/cli/rewind"
PROFILE="$E2E_DIR/chromium-profile"
rw() { "$REWIND" --endpoint "http://127.0.0.1:$API_PORT" --credentials "$DATA/credentials" "$@"; }

command -v node >/dev/null || die "node is missing: install Debian's nodejs (scripts/setup.sh)"
[ -x "$CHROMIUM" ] || die "$CHROMIUM is missing: install Debian's chromium (scripts/setup.sh)"
[ -f "$CONSOLE_DIR/dist/index.html" ] ||
  die "the console is not built ($CONSOLE_DIR/dist): run scripts/setup.sh (npm ci && npm run build)"
[ -d "$CONSOLE_DIR/node_modules/playwright-core" ] ||
  die "playwright-core is missing in $CONSOLE_DIR/node_modules: run scripts/setup.sh (npm ci)"

# Chromium and its helpers, found by this run's own profile dir (unique to it), killed by PID.
e2e_test_cleanup() {
  local pid
  for pid in $(pgrep -f -- "--user-data-dir=$PROFILE" || true); do kill -KILL "$pid" 2>/dev/null; done
}

REWINDD_ARGS="--console-dir $CONSOLE_DIR/dist" e2e_start
URL="http://127.0.0.1:$API_PORT/"
create_cluster_with_writer web 3600
# Two tables bound by a foreign key: the preview's restore-table refuses one alone, with its
# message. Made before the load, so that the moment picked before the DROP surely has them.
sql web "CREATE TABLE parent (id INT PRIMARY KEY) ENGINE=InnoDB;
  CREATE TABLE child (id INT PRIMARY KEY, pid INT, CONSTRAINT fk_child_parent FOREIGN KEY (pid)
    REFERENCES parent (id)) ENGINE=InnoDB;
  INSERT INTO parent VALUES (1); INSERT INTO child VALUES (1, 1);" >/dev/null
log "sysbench prepare: sbtest1 with $ROWS rows"
sysbench_prepare web
WANT=$(checksum web)
[ "$(sql web "SELECT COUNT(*) FROM sbtest1")" = "$ROWS" ] || die "sbtest1 does not have $ROWS rows"

# The DROP must be a burst of its own on the chart: wait until the load's writes (InnoDB's
# flushing included) have stopped for 3 whole seconds.
quiet_for() {
  rw activity web --from "$(date -u -d "@$(( $(date +%s) - 10 ))" +%Y-%m-%dT%H:%M:%SZ)" --step 1s \
    --format json | python3 -c 'import json, sys
pts = json.load(sys.stdin)[:-1]  # the current second is still open
sys.exit(0 if len(pts) >= 3 and all(p["bytes"] == 0 and p["records"] == 0 for p in pts[-3:]) else 1)'
}
for _ in $(seq 1 120); do quiet_for && break; sleep 1; done
quiet_for || die "the cluster's volume did not go quiet after the load"
QUIET_MS=$(date +%s%3N)
log "quiet; DROP TABLE sbtest1"
HOST=$(cluster_field web Endpoint); PORT=$(cluster_field web Port)
DROP_MS=$(date +%s%3N)
mysql -h "$HOST" -P "$PORT" -u masteruser -p"$MASTER_PASSWORD" mylab -e "DROP TABLE sbtest1"
DROP_END_MS=$(date +%s%3N)
if sql web "SHOW TABLES" | grep -qx sbtest1; then die "sbtest1 still there after DROP"; fi
sleep 4

log "unauthenticated API calls: 401, and no page is a secret"
code=$(curl -s -o /dev/null -w '%{http_code}' "${URL}console/api/clusters")
[ "$code" = 401 ] || die "GET /console/api/clusters without a session gave $code, not 401"
code=$(curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' \
  -H "Origin: http://127.0.0.1:$API_PORT" -d '{"to":"2026-01-01T00:00:00Z"}' \
  "${URL}console/api/clusters/web/backtrack")
[ "$code" = 401 ] || die "POST backtrack without a session gave $code, not 401"

log "the browser (screenshots to $SHOTS)"
KEY=$(awk -F' = ' '/aws_access_key_id/ { print $2 }' "$DATA/credentials")
SECRET=$(awk -F' = ' '/aws_secret_access_key/ { print $2 }' "$DATA/credentials")
mkdir -p "$E2E_DIR/tmp"
CONSOLE_URL="$URL" ACCESS_KEY_ID="$KEY" SECRET_ACCESS_KEY="$SECRET" CLUSTER=web CLONE=web-copy \
  DROP_MS="$DROP_MS" DROP_END_MS="$DROP_END_MS" QUIET_MS="$QUIET_MS" SCREENSHOT_DIR="$SHOTS" PROFILE_DIR="$PROFILE" \
  CHROMIUM="$CHROMIUM" CONSOLE_DIR="$CONSOLE_DIR" TMPDIR="$E2E_DIR/tmp" ROWS="$ROWS" \
  MYSQL_HOST="$HOST" MYSQL_PORT="$PORT" MYSQL_PASSWORD="$MASTER_PASSWORD" \
  node "$SRC/tests/e2e/console_e2e.mjs" &
NODE_PID=$!
E2E_BG_PIDS+=("$NODE_PID")
rc=0; wait "$NODE_PID" || rc=$?
E2E_BG_PIDS=()
e2e_test_cleanup
[ $rc -eq 0 ] || die "the browser steps failed (exit $rc): see above"

log "sbtest1 is back through mysql"
for _ in $(seq 1 100); do sql web "SELECT 1" >/dev/null 2>&1 && break; sleep 0.3; done
sql web "SHOW TABLES" | grep -qx sbtest1 || die "sbtest1 missing after the console's backtrack"
[ "$(checksum web)" = "$WANT" ] || die "sbtest1's checksum differs from before the DROP"
[ "$(status_of web)" = available ] || die "cluster not available after the backtrack"
log "the clone made in the console has sbtest1 as before the DROP"
[ "$(status_of web-copy)" = available ] || die "clone web-copy not available"
sql web-copy "SHOW TABLES" | grep -qx sbtest1 || die "sbtest1 missing in the console's clone"
[ "$(checksum web-copy)" = "$WANT" ] || die "sbtest1's checksum in the clone differs"
grep -q "console: POST /console/api/clusters/web/backtrack 202" "$E2E_DIR/rewindd.log" ||
  die "rewindd's log has no line for the console's backtrack"
if grep -qF "$SECRET" "$E2E_DIR/rewindd.log"; then die "the secret is in rewindd's log"; fi
grep -q "console: POST /console/api/clusters/web/restore-table 200" "$E2E_DIR/rewindd.log" ||
  die "rewindd's log has no line for the console's restore-table"
for f in login clusters cluster preview restore-done backtrack-done clone-done; do
  [ -s "$SHOTS/$f.png" ] || die "no screenshot $SHOTS/$f.png"
done
log "PASS"
