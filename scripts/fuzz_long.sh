#!/usr/bin/env bash
# The long fuzz run reported in docs/reliability.md: every libFuzzer target for RUNS inputs
# (default 1,000,000), one after the other, at the lowest CPU priority.
#   bash scripts/fuzz_long.sh [RUNS] [target ...]
# Builds ./build-fuzz with clang if needed. Each run starts from the seed corpus in
# fuzz/corpus/<target>; its log, grown corpus and any crashing input are kept in
# build-fuzz/fuzz-long/<target>/. Prints a Markdown table (target, inputs, seconds, exec/s,
# corpus size, findings) and exits non-zero if any target found something.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-1000000}
shift || true
TARGETS=("$@")
((${#TARGETS[@]})) || TARGETS=(form_fuzz sigv4_fuzz timeparse_fuzz record_fuzz)

if [ ! -f build-fuzz/CMakeCache.txt ]; then
  CC=clang CXX=clang++ nice -n 19 cmake -S . -B build-fuzz -DREWIND_FUZZ=ON >/dev/null
fi
nice -n 19 cmake --build build-fuzz --target fuzz -j"$(nproc)" >/dev/null

out=build-fuzz/fuzz-long
mkdir -p "$out"
rows=()
failed=0
for t in "${TARGETS[@]}"; do
  bin=$(find build-fuzz/src -type f -name "$t" -perm -u+x | head -1)
  [ -n "$bin" ] || { echo "fuzz_long: no binary for $t" >&2; exit 2; }
  echo "fuzz_long: $t: $RUNS inputs..." >&2
  start=$(date +%s.%N)
  status=0
  nice -n 19 bash fuzz/run.sh "$bin" "fuzz/corpus/$t" "$out/$t" -runs="$RUNS" \
    >"$out/$t.log" 2>&1 || status=$?
  end=$(date +%s.%N)
  secs=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.0f", b - a }')
  units=$(awk '/stat::number_of_executed_units/ { print $2 }' "$out/$t.log")
  eps=$(awk '/stat::average_exec_per_sec/ { print $2 }' "$out/$t.log")
  seed=$(awk '/INFO: Seed:/ { print $3; exit }' "$out/$t.log")
  corpus=$(find "$out/$t/corpus" -type f | wc -l)
  findings=$(find "$out/$t/artifacts" -type f | wc -l)
  if [ "$status" -ne 0 ]; then
    failed=1
    what=$(grep -m1 -E "property violated|runtime error|ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)" "$out/$t.log" || true)
    findings="$findings ($what)"
  fi
  rows+=("| $t | ${units:-?} | $secs | ${eps:-?} | $corpus | $seed | $findings |")
done
echo "| target | inputs run | seconds | exec/s | corpus grown | seed | findings |"
echo "|---|---|---|---|---|---|---|"
printf '%s\n' "${rows[@]}"
exit "$failed"
