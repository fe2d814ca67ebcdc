#!/usr/bin/env bash
# The backtrack window end to end: a real rewindd cleaning every second, a cluster with a
# 40-second window under bursts of sysbench writes. Checksums taken at quiet moments come back
# when backtracked to (inside the window); a moment before EarliestBacktrackTime is refused and
# EarliestBacktrackTime itself works; the cleaner reclaims history (metrics, disk); a clone made
# mid-run keeps working after the cleaner passed its branch point; over a history budget the
# window is cut with RDS-EVENT-0131, and RDS-EVENT-0132 says when it is back at its target.
source "$(dirname "$0")/lib.sh"
ROWS=${ROWS:-20000}
WINDOW=40
MASTER_PASSWORD="Ret-pass-$RANDOM$RANDOM"
REWINDD_ARGS="--clean-interval 1000"

metric() {  # metric NAME [LABELS]: the value of one sample from /metrics
  curl -fsS "http://127.0.0.1:$API_PORT/metrics" |
    awk -v n="$1" -v l="${2:-}" '$1 == (l == "" ? n : n "{" l "}") { print $2 }'
}
store_du() { du -sb "$DATA/store/log" | cut -f1; }
burst() {  # burst SECONDS: sysbench write load on cluster ret
  sysbench oltp_write_only --threads=2 --mysql-host=127.0.0.1 --mysql-port="$(cluster_field ret Port)" \
    --mysql-user=masteruser --mysql-password="$MASTER_PASSWORD" --mysql-db=mylab --tables=1 \
    --table-size="$ROWS" --time="$1" --report-interval=0 run >/dev/null
}
iso() { date -u -d "@$1" +%Y-%m-%dT%H:%M:%SZ; }
# wait_backtrack_event TEXT: true once cluster ret has a backtrack event whose message has TEXT
# (within 30 s). Polled with curl's SigV4 (rds_query in lib.sh): the aws CLI costs a second of
# CPU per call, and on a loaded machine 60 of them took minutes.
wait_backtrack_event() {
  local messages marker page
  for _ in $(seq 1 60); do
    messages="" marker=""
    while :; do
      page=$(rds_query DescribeEvents SourceIdentifier=ret SourceType=db-cluster \
               EventCategories.member.1=backtrack MaxRecords=100 ${marker:+"Marker=$marker"})
      messages+=$(xml_values Message <<<"$page" || true)$'\n'
      marker=$(xml_values Marker <<<"$page" | tail -1 || true)
      [ -n "$marker" ] || break
    done
    grep -q "$1" <<<"$messages" && return 0
    sleep 0.5
  done
  return 1
}

e2e_start
log "cluster ret, window $WINDOW s, writer"
create_cluster_with_writer ret "$WINDOW"
sysbench_prepare ret

declare -a MOMENTS=() SUMS=()
log "bursts of writes; a checksum at a quiet moment after each"
for i in $(seq 1 9); do
  burst 6
  sleep 1.2
  T=$(date +%s)   # whole seconds: the API's resolution
  sleep 1.2
  MOMENTS+=("$T")
  SUMS+=("$(checksum ret)")
  log "   moment $i $(iso "$T") checksum ${SUMS[-1]} log $(store_du) bytes, EarliestBacktrackTime $(cluster_field ret EarliestBacktrackTime)"
  if [ "$i" = 3 ]; then
    log "   clone ret-clone now (its branch point will age out of ret's window)"
    CLONE_SUM=${SUMS[-1]}
    aws_rds restore-db-cluster-to-point-in-time --source-db-cluster-identifier ret \
      --db-cluster-identifier ret-clone --restore-type copy-on-write \
      --restore-to-time "$(iso "$T")" >/dev/null
    wait_available ret-clone
  fi
done
sleep 2
EARLIEST=$(date -u -d "$(cluster_field ret EarliestBacktrackTime)" +%s)
NOW=$(date +%s)
log "EarliestBacktrackTime $(iso "$EARLIEST"), $((NOW - EARLIEST)) s ago"
[ $((NOW - EARLIEST)) -le $((WINDOW + 3)) ] || die "the window is not enforced: earliest is $((NOW - EARLIEST)) s ago"
[ $((NOW - EARLIEST)) -ge $((WINDOW - 3)) ] || die "the window is too short: earliest is $((NOW - EARLIEST)) s ago"

DROPPED=$(metric rewind_cleaner_versions_dropped_total)
RECLAIMED=$(metric rewind_cleaner_reclaimed_bytes_total)
WRITTEN=$(metric rewind_history_bytes 'cluster="ret"')
log "cleaner: $DROPPED versions dropped, $RECLAIMED bytes reclaimed; ret keeps $WRITTEN history bytes; log $(store_du) bytes"
[ "${DROPPED%.*}" -gt 0 ] || die "the cleaner dropped nothing"
[ "${RECLAIMED%.*}" -gt 0 ] || die "the cleaner reclaimed no bytes"
[ "$(metric rewind_backtrack_window_actual_seconds 'cluster="ret"')" -ge $((WINDOW - 3)) ] ||
  die "BacktrackWindowActual is short of the window"
[ "$(metric rewind_backtrack_window_alert 'cluster="ret"')" = 0 ] || die "alert raised without a budget"
RECORDS=$(cluster_field ret BacktrackConsumedChangeRecords)
[ "$RECORDS" -gt 0 ] || die "BacktrackConsumedChangeRecords is $RECORDS"
# grep -c reads all of curl's output (grep -q may stop early and fail curl's write: exit 23).
[ "$(curl -fsS "http://127.0.0.1:$API_PORT/metrics" | grep -c '^rewind_fsync_seconds_bucket{cluster="ret",le="+Inf"} [1-9]')" -ge 1 ] ||
  die "no fsync latency histogram for ret"

log "a moment before EarliestBacktrackTime is refused; EarliestBacktrackTime itself works"
# boto3, so that describe and backtrack are milliseconds apart (the cleaner moves the window
# every second here); a refusal of EarliestBacktrackTime itself is retried only when a pass
# moved it in between.
API_PORT=$API_PORT /usr/bin/python3 - <<'PY' || die "EarliestBacktrackTime is not exact"
import datetime, os, boto3, botocore
rds = boto3.Session(profile_name="rewind").client(
    "rds", region_name="us-east-1", endpoint_url="http://127.0.0.1:" + os.environ["API_PORT"])
def earliest():
    return rds.describe_db_clusters(DBClusterIdentifier="ret")["DBClusters"][0]["EarliestBacktrackTime"]
for attempt in range(5):
    e = earliest()
    try:
        rds.backtrack_db_cluster(DBClusterIdentifier="ret", BacktrackTo=e - datetime.timedelta(seconds=1))
        raise SystemExit("a second before EarliestBacktrackTime %s was accepted" % e)
    except botocore.exceptions.ClientError as err:
        assert err.response["Error"]["Code"] == "InvalidDBClusterStateFault", err.response
    try:
        rds.backtrack_db_cluster(DBClusterIdentifier="ret", BacktrackTo=e)
        print("backtrack to EarliestBacktrackTime %s accepted; a second earlier refused" % e)
        break
    except botocore.exceptions.ClientError as err:
        if earliest() == e:
            raise SystemExit("backtrack to EarliestBacktrackTime %s refused: %s" % (e, err))
else:
    raise SystemExit("lost the race with the cleaner 5 times")
PY
wait_available ret

# Fresh moments just before the checks: on a loaded machine a backtrack and its checksum take
# long enough that the bursts' moments leave the 40-s window one by one while being checked.
log "three fresh moments; moments still inside the window come back with their checksums (newest first)"
for i in 1 2 3; do
  burst 2
  sleep 1.2
  T=$(date +%s)
  sleep 1.2
  MOMENTS+=("$T")
  SUMS+=("$(checksum ret)")
done
CHECKED=0
for ((i = ${#MOMENTS[@]} - 1; i >= 0; i--)); do
  T=${MOMENTS[$i]}
  E_S=$(date -u -d "$(cluster_field ret EarliestBacktrackTime)" +%s)
  if [ "$T" -lt "$E_S" ]; then
    expect_aws_error InvalidDBClusterStateFault backtrack-db-cluster --db-cluster-identifier ret \
      --backtrack-to "$(iso "$T")"
    continue
  fi
  # The cleaner (every second here) keeps moving the floor: a moment within a few seconds of it
  # may leave the window while the call is on its way, and either answer would be right.
  if [ "$T" -lt $((E_S + 3)) ]; then
    log "   $(iso "$T"): at the edge of the window (earliest $(iso "$E_S")), skipped"
    continue
  fi
  aws_rds backtrack-db-cluster --db-cluster-identifier ret --backtrack-to "$(iso "$T")" >/dev/null
  wait_available ret
  GOT=$(checksum ret)
  [ "$GOT" = "${SUMS[$i]}" ] || die "backtrack to $(iso "$T"): checksum $GOT, expected ${SUMS[$i]}"
  log "   $(iso "$T"): checksum ${SUMS[$i]} again"
  CHECKED=$((CHECKED + 1))
  [ $CHECKED -lt 3 ] || break
done
[ $CHECKED -ge 2 ] || die "only $CHECKED moments were inside the window"

log "the clone outlived its branch point in ret's window"
[ "$(date -u -d "$(cluster_field ret EarliestBacktrackTime)" +%s)" -gt "${MOMENTS[2]}" ] ||
  die "ret's window still holds the clone point"
aws_rds create-db-instance --db-instance-identifier ret-clone-1 --db-cluster-identifier ret-clone \
  --engine aurora-mysql --db-instance-class db.r5.large >/dev/null
wait_instance ret-clone-1
[ "$(checksum ret-clone)" = "$CLONE_SUM" ] || die "the clone's data changed after cleaning"
sql ret-clone "UPDATE sbtest1 SET k = k + 1 WHERE id <= 100"
[ "$(checksum ret-clone)" != "$CLONE_SUM" ] || die "a write on the clone did not show"

log "over a history budget the window is cut (RDS-EVENT-0131), and comes back (0132)"
# The budget: what the log holds now (mostly live data: the redo log, tablespaces) plus 48 MiB.
BUDGET=$(( $(metric rewind_store_log_bytes | cut -d. -f1) + (48 << 20) ))
e2e_stop TERM
REWINDD_ARGS="--clean-interval 1000 --history-budget $BUDGET"
e2e_start
[ "$(metric rewind_history_budget_bytes | cut -d. -f1)" = "$BUDGET" ] || die "the budget did not take"
aws_rds modify-db-cluster --db-cluster-identifier ret --backtrack-window 86400 >/dev/null
wait_instance ret-1
burst 15
wait_backtrack_event 'actual Backtrack window is smaller' ||
  die "no RDS-EVENT-0131 after the log grew past the budget (log $(store_du) bytes)"
[ "$(metric rewind_backtrack_window_alert 'cluster="ret"')" = 1 ] || die "BacktrackWindowAlert is not 1"
log "   0131 raised; actual window $(metric rewind_backtrack_window_actual_seconds 'cluster="ret"') s of 86400; log $(metric rewind_store_log_bytes) bytes, budget $BUDGET"
# A window the budget can hold: the target catches up with the cut floor.
aws_rds modify-db-cluster --db-cluster-identifier ret --backtrack-window 5 >/dev/null
# The log fits again only once the cleaner has rewritten enough segments (it rewrites one only
# when less than half of it is live, throttled): allow it a few minutes, not one.
fits=""
for _ in 1 2 3; do
  if wait_backtrack_event 'actual Backtrack window is the same'; then fits=1; break; fi
  log "   no RDS-EVENT-0132 yet: log $(metric rewind_store_log_bytes) bytes, budget $BUDGET, actual window $(metric rewind_backtrack_window_actual_seconds 'cluster="ret"') s"
done
[ -n "$fits" ] || die "no RDS-EVENT-0132 once the window fits the budget (log $(metric rewind_store_log_bytes) bytes, budget $BUDGET; $(curl -fsS "http://127.0.0.1:$API_PORT/metrics" | grep -E '^rewind_(live_stored_bytes|history_stored_bytes|store_pinned|clean|segments)' | tr '\n' ' '))"
[ "$(metric rewind_backtrack_window_alert 'cluster="ret"')" = 0 ] || die "BacktrackWindowAlert stuck at 1"

log "bad input: a history budget that cannot work is refused at start"
OUT=$("$REWINDD" --data-dir "$E2E_DIR/other" --history-budget 1K 2>&1) && die "a 1K budget was accepted"
echo "$OUT" | grep -q 'history-budget wants' || die "a 1K budget was refused without saying why: $OUT"
[ ! -e "$E2E_DIR/other" ] || die "a refused start left a data dir behind"
log "PASS"
