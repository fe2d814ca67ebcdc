#!/usr/bin/env bash
# Set-up (packages + build), then every test, through CTest, in three trees:
#   build       every test: unit, FUSE, MariaDB and end-to-end (arguments go to this ctest);
#   build-asan  the same sources with ASan + UBSan (g++): every test but the e2e and integration
#               ones and the stress loop, which start the real daemon / mariadbd on FUSE and are
#               run by ./build;
#   build-fuzz  the libFuzzer targets (clang): a short bounded run of each (ctest -L fuzz).
# The last two are compiled in the background (niced) while the first runs.
# A failing run does not stop the next. The last line is the combined count,
# "N passed, N failed", and the exit status is non-zero if any test failed.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
if [ ! -c /dev/fuse ]; then
  echo "test: /dev/fuse is missing: the FUSE and end-to-end tests will fail, as they must" >&2
fi
JOBS=$(nproc)
passed=0
failed=0
broken=()

# run_ctest NAME DIR ctest-args...: runs ctest in DIR and adds its counts to the totals.
run_ctest() {
  local name=$1 dir=$2
  shift 2
  local log
  log=$(mktemp)
  local status=0
  (cd "$dir" && ctest --output-on-failure "$@") 2>&1 | tee "$log" || status=$?
  local line
  line=$(grep -E '^[0-9]+% tests passed, [0-9]+ tests? failed out of [0-9]+' "$log" | tail -1 || true)
  rm -f "$log"
  if [ -z "$line" ]; then
    # No summary (no tests found, or ctest itself failed): count the whole run as one failure.
    echo "test: $name: ctest gave no summary (exit $status)" >&2
    failed=$((failed + 1))
    broken+=("$name")
    return
  fi
  local f t
  f=$(sed -E 's/.* ([0-9]+) tests? failed out of ([0-9]+).*/\1/' <<<"$line")
  t=$(sed -E 's/.* ([0-9]+) tests? failed out of ([0-9]+).*/\2/' <<<"$line")
  passed=$((passed + t - f))
  failed=$((failed + f))
  if [ "$f" -ne 0 ] || [ "$status" -ne 0 ]; then
    broken+=("$name")
    if [ "$f" -eq 0 ]; then failed=$((failed + 1)); fi
  fi
}

# The ASan and fuzz trees (stages 2 and 3) are compiled in the background, in their own process
# group at the lowest CPU priority, while stage 1 runs: its end-to-end tests spend much of their
# time waiting on servers, and a niced compiler only takes the cycles they leave.
SIDE_DIR=$(mktemp -d)
side_start=$SECONDS
echo "test: building ./build-asan and ./build-fuzz in the background (log: $SIDE_DIR/build.log)"
setsid nice -n 19 bash scripts/build_side_trees.sh "$SIDE_DIR" > "$SIDE_DIR/build.log" 2>&1 &
SIDE_PID=$!
stop_side_build() { kill -TERM -- -"$SIDE_PID" 2>/dev/null || true; rm -rf "$SIDE_DIR"; }
trap stop_side_build EXIT

# 1. Everything, on the normal build (made by setup.sh).
run_ctest build build --timeout 1800 -j1 "$@"

echo "test: waiting for the background builds"
wait "$SIDE_PID" || true
trap - EXIT
echo "test: the background builds took $(cat "$SIDE_DIR/seconds" 2>/dev/null || echo '?') s; waited for them $((SECONDS - side_start)) s after they started"
if [ ! -f "$SIDE_DIR/asan.ok" ] || [ ! -f "$SIDE_DIR/fuzz.ok" ]; then
  echo "test: a background build failed; the end of its log:" >&2
  tail -60 "$SIDE_DIR/build.log" >&2
fi

# 2. Unit tests under ASan + UBSan.
stage_start=$SECONDS
if [ -f "$SIDE_DIR/asan.ok" ]; then
  run_ctest build-asan build-asan --timeout 1800 -j1 -LE 'e2e|integration|stress'
else
  echo "test: the ASan build failed" >&2
  failed=$((failed + 1))
  broken+=("build-asan (build)")
fi
echo "test: build-asan tests took $((SECONDS - stage_start)) s"

# 3. A short run of every fuzz target (clang + libFuzzer + ASan + UBSan).
stage_start=$SECONDS
if [ -f "$SIDE_DIR/fuzz.ok" ]; then
  run_ctest build-fuzz build-fuzz --timeout 600 -j"$JOBS" -L fuzz
else
  echo "test: the fuzz build failed" >&2
  failed=$((failed + 1))
  broken+=("build-fuzz (build)")
fi
echo "test: build-fuzz runs took $((SECONDS - stage_start)) s"
rm -rf "$SIDE_DIR"

if ((${#broken[@]})); then
  echo "test: failures in: ${broken[*]}" >&2
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
