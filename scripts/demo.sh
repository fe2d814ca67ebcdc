#!/usr/bin/env bash
# The lab of shared/seed/backtracking-a-cluster.md with its 1 M rows, each step printed with the
# time it took: a real rewindd on a temporary data dir, the real aws CLI, mysql and sysbench.
#   ROWS=100000 bash scripts/demo.sh   for a quicker run
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh >/dev/null
ROWS=${ROWS:-1000000} BUILD_DIR="$PWD/build" exec bash tests/e2e/lab_test.sh
