# shellcheck shell=bash
# The object-store benches' set-up, sourced after tests/e2e/lib.sh: the Ceph RGW of REWIND_S3_ENV
# (an s3.env of tests/objstore/ceph.sh) if set, else one started here with tests/objstore/ceph.sh
# and stopped by PID on every exit path (the e2e harness's EXIT trap calls e2e_test_cleanup);
# then tests/objstore/lib.sh's helpers (metric, lose_machine, sysbench_load, CEPH_HANDLE, ...).
# A bench that needs its own e2e_test_cleanup calls bench_ceph_stop from it.
BENCH_CEPH_SH="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../tests/objstore" && pwd)/ceph.sh"
BENCH_CEPH_HANDLE=""
bench_ceph_stop() {
  [ -z "$BENCH_CEPH_HANDLE" ] || bash "$BENCH_CEPH_SH" stop "$BENCH_CEPH_HANDLE"
}
# Defined before the start: an interrupt halfway through it must stop what was started.
e2e_test_cleanup() { bench_ceph_stop; }
if [ -z "${REWIND_S3_ENV:-}" ]; then
  BENCH_CEPH_HANDLE="$E2E_DIR/ceph"
  mkdir -p "$BENCH_CEPH_HANDLE"
  log "starting Ceph (tests/objstore/ceph.sh)"
  bash "$BENCH_CEPH_SH" start "$BENCH_CEPH_HANDLE" >/dev/null
  REWIND_S3_ENV="$BENCH_CEPH_HANDLE/s3.env"
fi
# shellcheck source=../../tests/objstore/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../../tests/objstore/lib.sh"

# bench_s3_rm PREFIX: deletes every object under PREFIX in the bucket (a finished run's store:
# the fixture's one OSD is 20 GB).
bench_s3_rm() {
  env -u AWS_SHARED_CREDENTIALS_FILE -u AWS_PROFILE /usr/bin/aws --region "$S3_REGION" \
    --endpoint-url "$S3_ENDPOINT" s3 rm --quiet --recursive "s3://$S3_BUCKET/$1/"
}
