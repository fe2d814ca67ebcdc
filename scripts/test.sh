#!/usr/bin/env bash
# Set-up (packages + build), then every test: unit, FUSE, MariaDB and end-to-end, through CTest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
if [ ! -c /dev/fuse ]; then
  echo "test: /dev/fuse is missing: the FUSE and end-to-end tests will fail, as they must" >&2
fi
cd build
ctest --output-on-failure --timeout 1800 -j1 "$@"
