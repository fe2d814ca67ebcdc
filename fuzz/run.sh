#!/usr/bin/env bash
# Runs one libFuzzer target over its hand-written seed corpus, keeping what it learns out of the
# source tree:
#   fuzz/run.sh BINARY SEED_DIR WORK_DIR [libFuzzer flags, e.g. -runs=20000 -seed=1]
# WORK_DIR is emptied, then holds the inputs the run added (corpus/) and any crashing input
# (artifacts/). Exit status: 0 if no finding, non-zero otherwise (libFuzzer's).
set -euo pipefail
bin=$1 seeds=$2 work=$3
shift 3
rm -rf "$work"
mkdir -p "$work/corpus" "$work/artifacts"
# detect_leaks: LeakSanitizer is on by default under libFuzzer; keep it explicit.
status=0
ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1} \
  "$bin" -max_len=4096 -timeout=30 -print_final_stats=1 \
  -artifact_prefix="$work/artifacts/" "$@" "$work/corpus" "$seeds" || status=$?
if [ "$status" -ne 0 ]; then
  echo "fuzz: $(basename "$bin") failed (exit $status); crashing inputs:" >&2
  ls -l "$work/artifacts" >&2 || true
  echo "fuzz: reproduce with: $bin $work/artifacts/<file>" >&2
fi
exit "$status"
