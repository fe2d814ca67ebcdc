#!/usr/bin/env bash
# Configures and builds the ASan + UBSan tree (./build-asan) and the libFuzzer tree (./build-fuzz)
# for scripts/test.sh, which runs this in the background at the lowest CPU priority while its
# first stage runs. Writes asan.ok / fuzz.ok into STATUS_DIR for each tree that built.
# -O1 -g1 for ASan: its usual optimisation level, with line tables for its reports.
#   bash scripts/build_side_trees.sh STATUS_DIR
set -uo pipefail
cd "$(dirname "$0")/.."
status_dir=$1
jobs=$(nproc)
start=$SECONDS
if cmake -S . -B build-asan -DREWIND_SANITIZE=ON -DREWIND_WERROR=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo \
     "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -g1 -DNDEBUG" "-DCMAKE_C_FLAGS_RELWITHDEBINFO=-O1 -g1 -DNDEBUG" \
     >/dev/null && cmake --build build-asan -j"$jobs"; then
  touch "$status_dir/asan.ok"
fi
if CC=clang CXX=clang++ cmake -S . -B build-fuzz -DREWIND_FUZZ=ON -DREWIND_WERROR=ON >/dev/null &&
   cmake --build build-fuzz --target fuzz -j"$jobs"; then
  touch "$status_dir/fuzz.ok"
fi
echo "$((SECONDS - start))" > "$status_dir/seconds"
