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
  haproxy                              # src/cluster: each cluster's ReaderEndpoint (rewindd runs it)
  awscli python3-boto3                 # the lab's control-plane clients (tests use them)
  procps psmisc curl iproute2
  chromium                             # tests/e2e/console_test.sh: the web console, headless
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

# The web console's pages (console/): npm packages pinned in console/package-lock.json, installed
# with `npm ci` only when the lock changed since the last install, then built into console/dist
# (served by rewindd; nothing is fetched at run time). Vite 7 needs Node.js 20.19 or later.
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "setup: installing nodejs npm (the web console's build)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update
  apt-get install -y --no-install-recommends nodejs npm
fi
if ! node -e 'const [a, b] = process.versions.node.split(".").map(Number);
              process.exit(a > 20 || (a === 20 && b >= 19) ? 0 : 1)'; then
  echo "setup: Node.js $(node --version) is too old for the console's build (Vite 7 needs" \
       "20.19 or later): install a newer nodejs" >&2
  exit 1
fi
LOCK_SUM=$(sha256sum console/package-lock.json | cut -d' ' -f1)
if [ "$(cat console/node_modules/.rewind-lock.sha256 2>/dev/null)" != "$LOCK_SUM" ]; then
  echo "setup: npm ci in console/"
  (cd console && npm ci --no-audit --no-fund)
  echo "$LOCK_SUM" > console/node_modules/.rewind-lock.sha256
fi
(cd console && npm run --silent build >/dev/null)
echo "setup: web console built in ./console/dist"

BUILD_TYPE=${BUILD_TYPE:-RelWithDebInfo}
cmake -S . -B build -DCMAKE_BUILD_TYPE="$BUILD_TYPE" -DREWIND_WERROR=ON >/dev/null
cmake --build build -j"$(nproc)"
echo "setup: build ready in ./build"
