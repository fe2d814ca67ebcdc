#!/usr/bin/env bash
# The kill loop: a checker client does autocommit inserts of sequence numbers and records every
# acknowledged one, while the loop kill -9s rewindd (its mariadbds and FUSE mounts die with it)
# or a cluster's mariadbd alone, at random moments; after each kill rewindd is restarted (or
# restarts the mariadbd by itself) and every acknowledged row must be there, with CHECK TABLE OK.
#
#   tests/stress/kill_loop.sh [--kills N] [--seed S] [--max-seconds S] [--report FILE]
#
# Seeded (the seed is printed; --seed replays the same choices), bounded in kills and in time.
# 10 kills in CI; the documented longer run (docs/reliability.md) uses --kills 100.
source "$(dirname "$0")/../e2e/lib.sh"
KILLS=10 SEED=$(( $(date +%s%N) % 1000000007 )) MAX_SECONDS=900 REPORT=""
while [ $# -gt 0 ]; do
  case $1 in
    --kills) KILLS=$2; shift 2 ;;
    --seed) SEED=$2; shift 2 ;;
    --max-seconds) MAX_SECONDS=$2; shift 2 ;;
    --report) REPORT=$2; shift 2 ;;
    *) die "unknown option $1" ;;
  esac
done
RANDOM=$SEED
log "seed: --seed $SEED ($KILLS kills, at most $MAX_SECONDS s)"
MASTER_PASSWORD="Kill-pass-$RANDOM$RANDOM"
START=$(date +%s)


e2e_start
create_cluster_with_writer kl 3600
sql kl "CREATE TABLE seq (n INT PRIMARY KEY, pad CHAR(100))"

# The checker: one row per statement; a row is acknowledged once the client reported success.
ACKED="$E2E_DIR/acked"
: > "$ACKED"
HOST=$(cluster_field kl Endpoint); PORT=$(cluster_field kl Port)
(
  n=0
  while :; do
    n=$((n + 1))
    if mysql -h "$HOST" -P "$PORT" -u masteruser -p"$MASTER_PASSWORD" mylab \
         -e "INSERT INTO seq VALUES ($n, REPEAT('x', 100))" >/dev/null 2>&1; then
      echo "$n" >> "$ACKED"
    else
      sleep 0.2  # down: try the next number when it is back
    fi
  done
) &
CHECKER=$!
E2E_BG_PIDS+=("$CHECKER")

declare -A KINDS=()
for k in $(seq 1 "$KILLS"); do
  [ $(( $(date +%s) - START )) -lt "$MAX_SECONDS" ] ||
    die "the time budget ($MAX_SECONDS s) was spent after $((k - 1)) of $KILLS kills"
  sleep "$(( 1 + RANDOM % 4 )).$(( RANDOM % 10 ))"
  pid=$(mariadbd_of kl)
  [ -n "$pid" ] || die "kill $k: no mariadbd of kl runs"
  if [ $((RANDOM % 2)) = 0 ]; then
    kind=rewindd  # its mariadbd lives on as an orphan: the new rewindd must end it
    e2e_stop KILL
    e2e_start
  else
    kind=mariadbd
    kill -KILL "$pid"
    for _ in $(seq 1 100); do [ -d "/proc/$pid" ] || break; sleep 0.1; done
    [ -d "/proc/$pid" ] && die "kill $k: mariadbd $pid survived kill -9"
  fi
  KINDS[$kind]=$(( ${KINDS[$kind]:-0} + 1 ))
  wait_sql kl
  assert_restarted_by_rewindd kl "$pid"  # the real supervisor, not this script, restarted it
  acked=$(wc -l < "$ACKED")
  missing=$(sort "$ACKED" | comm -23 - <(sql kl "SELECT n FROM seq" | sort) | wc -l)
  [ "$missing" = 0 ] || die "kill $k ($kind): $missing of $acked acknowledged rows are missing"
  sql kl "CHECK TABLE seq" | grep -q "status	OK" || die "kill $k ($kind): CHECK TABLE seq not OK"
  log "kill $k: $kind; $acked acknowledged rows, all present; CHECK TABLE OK"
done
DONE=$(( ${KINDS[rewindd]:-0} + ${KINDS[mariadbd]:-0} ))
[ "$DONE" = "$KILLS" ] || die "$DONE kills made, $KILLS asked"
# Each mariadbd kill was seen and handled by rewindd's supervisor, as Aurora reports it.
RESTARTS=$(aws_rds describe-events --source-identifier kl-1 --source-type db-instance \
  --duration 1440 --query 'Events[].Message' --output text | tr '\t' '\n' |
  grep -c 'restarted after an unexpected exit' || true)
[ "$RESTARTS" -ge "${KINDS[mariadbd]:-0}" ] ||
  die "${KINDS[mariadbd]:-0} mariadbd kills but $RESTARTS 'restarted after an unexpected exit' events"
kill -KILL "$CHECKER" 2>/dev/null; wait "$CHECKER" 2>/dev/null || true
E2E_BG_PIDS=()
ACKED_N=$(wc -l < "$ACKED")
missing=$(sort "$ACKED" | comm -23 - <(sql kl "SELECT n FROM seq" | sort) | wc -l)
[ "$missing" = 0 ] || die "at the end: $missing acknowledged rows are missing"
SUMMARY="seed $SEED: $KILLS kills (rewindd ${KINDS[rewindd]:-0}, mariadbd ${KINDS[mariadbd]:-0}) in $(( $(date +%s) - START )) s; $ACKED_N acknowledged rows, 0 lost; CHECK TABLE OK after every kill"
log "$SUMMARY"
[ -z "$REPORT" ] || echo "$SUMMARY" >> "$REPORT"
log "PASS"
