# Shared helpers of the object-store e2e tests (after tests/e2e/lib.sh): the `ceph` fixture's
# S3 settings, /metrics and events readers, and the loss of the machine.
[ -n "${REWIND_S3_ENV:-}" ] && [ -f "$REWIND_S3_ENV" ] ||
  die "REWIND_S3_ENV must name the ceph fixture's s3.env (ctest -R objstore runs the fixture)"
# shellcheck disable=SC1090
source "$REWIND_S3_ENV"
export AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY
CEPH_HANDLE=$(dirname "$REWIND_S3_ENV")
CEPH_SH="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/ceph.sh"

# metric NAME: the value of an unlabelled sample of rewindd's /metrics.
metric() {
  curl -fsS "http://127.0.0.1:$API_PORT/metrics" | awk -v n="$1" '$1 == n { print $2 }'
}

# events CLUSTER: the messages of the cluster's events of the last hour, captured whole first
# (the CLI prints page by page: a grep -q that exits early would fail the pipeline).
events() {
  aws_rds describe-events --source-identifier "$1" --source-type db-cluster --duration 60 \
    --query 'Events[].Message' --output text
}

# lose_machine: rewindd killed (-9), then what the lost machine ran with it: its engines (those
# started with this run's config files) and its FUSE mounts; the data dir is deleted.
lose_machine() {
  e2e_stop KILL
  local pidfile pid
  for pidfile in "$DATA"/run/*/mariadbd/mariadbd.pid; do
    [ -f "$pidfile" ] || continue
    pid=$(cat "$pidfile")
    if tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null | grep -q -- "--defaults-file=$E2E_DIR/"; then
      kill -KILL "$pid"
      for _ in $(seq 1 100); do [ -d "/proc/$pid" ] || break; sleep 0.1; done
    fi
  done
  awk -v d="$DATA/" 'index($2, d) == 1 && $3 ~ /^fuse/ { print $2 }' /proc/mounts |
    while read -r m; do fusermount3 -u -z "$m"; done
  rm -rf "$DATA"
}
