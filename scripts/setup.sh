#!/usr/bin/env bash
# Idempotent set-up on Debian 12 as root: installs the Debian packages Rewind needs (only what is
# missing), then configures and builds into ./build. Safe to run again; does nothing it need not.
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(
  cmake g++ make pkg-config            # build
  libfuse3-dev fuse3                   # src/fs: the FUSE filesystem
  libsqlite3-dev                       # src/cluster: metadata
  libssl-dev openssl                   # src/api: SigV4 (HMAC-SHA256); src/tls: certificates, HTTPS;
                                       # tests/e2e/tls_test.sh: the openssl CLI
  libcpp-httplib-dev nlohmann-json3-dev  # src/api: HTTP server; JSON
  libpugixml-dev                       # src/cli: parses the API's XML answers
  libzstd-dev                          # src/store: page compression
  libcurl4-openssl-dev                 # src/objstore: S3 client (SigV4 signing by libcurl)
  socat                                # tests/objstore: a proxy the e2e test cuts to take RGW away
  ceph-mon ceph-mgr ceph-osd radosgw ceph-common  # tests/objstore: a real Ceph RGW (never started by apt)
  libgtest-dev libgmock-dev libbenchmark-dev  # tests, benchmarks
  clang libclang-rt-dev                # fuzz targets: clang with libFuzzer + sanitizer runtimes
  llvm                                 # llvm-symbolizer: readable sanitizer stack traces
  mariadb-server mariadb-client sysbench      # the engine and the lab's tools
  awscli python3-boto3                 # the lab's control-plane clients (tests use them)
  procps psmisc curl iproute2
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  # Keep the packaged MariaDB service from starting: Rewind runs its own mariadbd per cluster.
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
    chmod +x /usr/sbin/policy-rc.d
    trap 'rm -f /usr/sbin/policy-rc.d' EXIT
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update
  apt-get install -y --no-install-recommends "${missing[@]}"
fi

# mariadbd never runs as root: rewindd starts it as this unprivileged system user (Debian's
# mariadb-server package creates it; a host without it gets a system user with no login).
ENGINE_USER=${REWIND_ENGINE_USER:-mysql}
if ! getent passwd "$ENGINE_USER" >/dev/null; then
  echo "setup: creating system user $ENGINE_USER (mariadbd runs as it)"
  getent group "$ENGINE_USER" >/dev/null || groupadd --system "$ENGINE_USER"
  useradd --system --gid "$ENGINE_USER" --no-create-home --home-dir /nonexistent \
    --shell /usr/sbin/nologin "$ENGINE_USER"
fi

BUILD_TYPE=${BUILD_TYPE:-RelWithDebInfo}
cmake -S . -B build -DCMAKE_BUILD_TYPE="$BUILD_TYPE" -DREWIND_WERROR=ON >/dev/null
cmake --build build -j"$(nproc)"
echo "setup: build ready in ./build"
