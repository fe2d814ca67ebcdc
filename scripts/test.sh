#!/usr/bin/env bash
# Set-up (packages + build), then every test, through CTest, in three trees:
#   build       every test: unit, FUSE, MariaDB and end-to-end (arguments go to this ctest);
#   build-asan  the same sources with ASan + UBSan (g++): every test but the e2e and integration
#               ones and the stress loop, which start the real daemon / mariadbd on FUSE and are
#               run by ./build;
#   build-fuzz  the libFuzzer targets (clang): a short bounded run of each (ctest -L fuzz).
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

# 1. Everything, on the normal build (made by setup.sh).
run_ctest build build --timeout 1800 -j1 "$@"

# 2. Unit tests under ASan + UBSan.
stage_start=$SECONDS
echo "test: building ./build-asan (ASan + UBSan)"
if cmake -S . -B build-asan -DREWIND_SANITIZE=ON -DREWIND_WERROR=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null &&
   cmake --build build-asan -j"$JOBS"; then
  run_ctest build-asan build-asan --timeout 1800 -j1 -LE 'e2e|integration|stress'
else
  echo "test: the ASan build failed" >&2
  failed=$((failed + 1))
  broken+=("build-asan (build)")
fi

echo "test: build-asan (build and tests) took $((SECONDS - stage_start)) s"

# 3. A short run of every fuzz target (clang + libFuzzer + ASan + UBSan).
stage_start=$SECONDS
echo "test: building ./build-fuzz (clang, libFuzzer)"
if CC=clang CXX=clang++ cmake -S . -B build-fuzz -DREWIND_FUZZ=ON -DREWIND_WERROR=ON >/dev/null &&
   cmake --build build-fuzz --target fuzz -j"$JOBS"; then
  run_ctest build-fuzz build-fuzz --timeout 600 -j"$JOBS" -L fuzz
else
  echo "test: the fuzz build failed" >&2
  failed=$((failed + 1))
  broken+=("build-fuzz (build)")
fi

echo "test: build-fuzz (build and runs) took $((SECONDS - stage_start)) s"

if ((${#broken[@]})); then
  echo "test: failures in: ${broken[*]}" >&2
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
