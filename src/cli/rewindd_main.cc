// rewindd: the Rewind daemon. Holds the store, serves the FUSE mounts, supervises one mariadbd
// per cluster (cluster::ClusterService) and answers the RDS Query API (api::ApiServer +
// api::RdsHandler) on 127.0.0.1.
//
//   rewindd [--data-dir DIR] [--listen HOST:PORT] [--first-port N] [--buffer-pool SIZE]
//           [--tls-cert FILE --tls-key FILE] [--allow-plain-http-on-trusted-network]
//           [--engine-user NAME] [--engine-uid-base N]
//           [--object-store s3://BUCKET/PREFIX [--s3-endpoint URL] [--s3-region R] [--restore]
//            [--peer-object-store NAME=s3://BUCKET/PREFIX]...]
//           [--console-dir DIR] ...
//
// Web console (console::Console, src/console): its pages at http(s)://HOST:PORT/ and its JSON
// API under /console/api/, on the API's address, login with the access key of
// DIR/credentials. The pages come from --console-dir (default: the source tree's
// console/dist, built by scripts/setup.sh, REWIND_CONSOLE_DIR at compile time).
//
// Object store (off by default): every closed log segment, checkpoint and consistent meta.db
// copy, and the active segment's durable tail every second, go to the bucket
// (objstore::Shipper, docs/format/object-store.md) from a thread of their own, never on the
// commit path. Credentials only from the AWS chain (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY,
// AWS_SHARED_CREDENTIALS_FILE / AWS_PROFILE). A bucket that cannot be reached at start stops
// rewindd (exit 1) before anything is mounted. --restore (with a new, empty data dir) first
// brings the newest store in the bucket back as of its HEAD (objstore/restore.h): every
// cluster, its metadata and history, then starts as usual.
//
// Peers (issue 18's second node; docs/format/object-store.md, "A second node"): each
// --peer-object-store NAME=s3://BUCKET/PREFIX is another rewindd's --object-store (same endpoint,
// region and credentials). RestoreDBClusterToPointInTime with SourceDBClusterIdentifier
// arn:aws:rds:REGION:NAME:cluster:ID clones that node's cluster ID, copy-on-write, through a
// read-only view of its store built from its bucket (DIR/peers/, src/peer/object_store_peers.h;
// every view is opened at start, before the store) and pinned there while the clone lives.
//
// TLS: with --tls-cert/--tls-key (the user's certificate) the API is HTTPS; without them it is
// plain HTTP, allowed only on a loopback address unless --allow-plain-http-on-trusted-network.
// Every cluster's mariadbd serves TLS with a certificate from rewindd's own CA, whose
// certificate is DIR/ca.pem (mysql --ssl-ca=DIR/ca.pem --ssl-verify-server-cert).
//
// mariadbd never runs as root: run as root, rewindd starts each cluster's as a uid of its own
// (from --engine-uid-base, no passwd entry, primary group that of the engine user NAME, default
// Debian's `mysql`); run as another user, every mariadbd runs as that user. Everything rewindd writes is
// private (files 0600, directories 0700; see cluster::ServiceOptions::data_dir for the few
// directories the engine user may traverse).
// DIR (default /var/lib/rewind) holds everything: the store, meta.db, the mounts (DIR/mnt), the
// engines' run dirs (DIR/run), DIR/credentials (the access key, profile `rewind`, mode 0600,
// created at first start) and DIR/rewindd.pid (locked while rewindd runs: one rewindd per DIR).
// Clients:  AWS_SHARED_CREDENTIALS_FILE=DIR/credentials aws --profile rewind
//             --region us-east-1 --endpoint-url http://127.0.0.1:8686 rds describe-db-clusters
//
// SIGTERM / SIGINT: stop the API, stop every engine gracefully, unmount, exit 0. One line per API
// call goes to stderr (action, HTTP status, error code, duration; never a parameter value).
// Exit codes: 0 after a signal, 1 if startup fails, 2 for bad usage.
#include <arpa/inet.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cinttypes>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/asof_handler.h"
#include "api/credentials.h"
#include "api/rds_handler.h"
#include "api/server.h"
#include "api/timeparse.h"
#include "cli/metrics.h"
#include "cluster/cluster_service.h"
#include "cluster/time_travel.h"
#include "common/status.h"
#include "console/console.h"
#include "objstore/backlog_gate.h"
#include "objstore/cold_tier.h"
#include "objstore/config.h"
#include "objstore/restore.h"
#include "objstore/s3_client.h"
#include "objstore/shipper.h"
#include "peer/object_store_peers.h"
#include "peer/peer_flag.h"
#include "tls/tls.h"

namespace rwd::cli {
namespace {

constexpr const char* kUsage =
    "usage: rewindd [--data-dir DIR] [--listen HOST:PORT] [--first-port N] [--buffer-pool SIZE]\n"
    "  --data-dir DIR      where the store, metadata, mounts and credentials live\n"
    "                      (default /var/lib/rewind)\n"
    "  --listen HOST:PORT  the RDS API and /metrics (default 127.0.0.1:8686); over plain HTTP\n"
    "                      only on a loopback address (127.0.0.0/8, ::1, localhost)\n"
    "  --tls-cert FILE     serve the API over HTTPS with this PEM certificate (then any\n"
    "                      intermediates); clients: aws --ca-bundle CA.pem\n"
    "  --tls-key FILE      the certificate's unencrypted PEM private key\n"
    "  --allow-plain-http-on-trusted-network  serve plain HTTP on a non-loopback --listen\n"
    "                      address (requests, passwords included, cross the network in clear)\n"
    "  --first-port N      first TCP port handed to DB clusters (default 3306)\n"
    "  --reader-endpoint-host ADDR  numeric address of every cluster's ReaderEndpoint (an\n"
    "                      HAProxy per cluster on ADDR:<cluster port>; default 127.0.0.2;\n"
    "                      'none': no reader endpoint, ReaderEndpoint shows the writer)\n"
    "  --time-travel-first-port N  first TCP port of time-travel instances (rewind\n"
    "                      time-travel; default --first-port + 1000)\n"
    "  --time-travel-poll MS  how often time-travel instances are checked for idleness\n"
    "                      (default 5000)\n"
    "  --buffer-pool SIZE  innodb_buffer_pool_size of each mariadbd, e.g. 256M (default 256M)\n"
    "  --history-budget SIZE  most bytes of history the store keeps, e.g. 50G; past it every\n"
    "                      cluster's backtrack window is cut (RDS-EVENT-0131) (default: none)\n"
    "  --clean-interval MS  how often the cleaner reclaims history older than the windows\n"
    "                      (default 10000)\n"
    "  --compress on|off   zstd-compress closed log segments in the background, where it pays\n"
    "                      (default on; writes are appended raw)\n"
    "  --compress-level N  zstd level, -7..9 (default 1)\n"
    "  --retry-failed-interval MS  how often a failed DB instance is started again\n"
    "                      (default 60000; 0: never, only reboot-db-instance)\n"
    "  --event-retention-days N  days describe-events keeps events, 1..3650 (default 14,\n"
    "                      as Aurora); older ones are deleted by the retention pass\n"
    "  --engine-user NAME  the unprivileged system user every mariadbd runs as when rewindd\n"
    "                      runs as root (default mysql; never root)\n"
    "  --engine-uid-base N  run as root, each cluster's mariadbd runs as its own uid, the\n"
    "                      lowest free of N..N+65535 with no passwd entry, in the engine\n"
    "                      user's group (default 2100000000; N >= 65536)\n"
    "  --object-store s3://BUCKET/PREFIX  ship the store's log, checkpoints and metadata to\n"
    "                      this S3 bucket (tail every second); credentials from the AWS\n"
    "                      environment or shared credentials file, never the command line\n"
    "  --s3-endpoint URL   the S3 API's URL, e.g. http://127.0.0.1:7480 (default: AWS S3)\n"
    "  --s3-region R       the bucket's region (default us-east-1)\n"
    "  --local-history-budget BYTES  with --object-store: keep at most about this much of\n"
    "                      the log locally; older closed segments are evicted once verified\n"
    "                      in the bucket and read back from it when history needs them\n"
    "                      (0: only the active segment stays local)\n"
    "  --upload-backlog-policy back-pressure|grow  with --local-history-budget: when the\n"
    "                      local log passes the budget by the headroom while uploads are behind\n"
    "                      (the bucket down or slow), back-pressure (default) holds writes\n"
    "                      (commits wait) until uploads catch up; grow lets the local log\n"
    "                      grow past the budget. Either way an event and /metrics say so\n"
    "  --upload-backlog-headroom BYTES  how far past --local-history-budget the local log\n"
    "                      may grow while uploads are behind before the policy applies\n"
    "                      (default 256M, at least 128M)\n"
    "  --peer-object-store NAME=s3://BUCKET/PREFIX  with --object-store: another rewindd's\n"
    "                      --object-store (same --s3-endpoint, region and credentials), whose\n"
    "                      clusters this node may clone: restore-db-cluster-to-point-in-time\n"
    "                      --source-db-cluster-identifier arn:aws:rds:REGION:NAME:cluster:ID\n"
    "                      (repeatable; NAME: 1..63 of a-z, 0-9, -)\n"
    "  --restore           bring every cluster back from the --object-store bucket into a\n"
    "                      new, empty --data-dir (after the loss of a machine), then serve\n"
    "  --console-dir DIR   the web console's built pages, served at / (default: "
    REWIND_CONSOLE_DIR ")\n";

struct Flags {
  std::string data_dir = "/var/lib/rewind";
  std::string listen_host = "127.0.0.1";
  int listen_port = 8686;
  int first_port = 3306;
  std::string reader_host = "127.0.0.2";
  int time_travel_first_port = 0;  // 0: first_port + 1000
  long time_travel_poll_ms = 5000;
  std::string buffer_pool = "256M";
  uint64_t history_budget = 0;
  long clean_interval_ms = 10'000;
  bool compress = true;
  int compress_level = 1;
  long retry_failed_interval_ms = 60'000;
  std::string tls_cert;
  std::string tls_key;
  bool allow_plain_http = false;
  long event_retention_days = 14;
  std::string engine_user;  // empty: the engine's default (mysql when root)
  long engine_uid_base = 2100000000;
  std::string object_store;  // s3://BUCKET/PREFIX; empty: off
  std::string s3_endpoint;
  std::string s3_region;
  bool restore = false;
  std::string console_dir = REWIND_CONSOLE_DIR;
  std::optional<uint64_t> local_history_budget;  // --local-history-budget; none: no eviction
  std::optional<objstore::BacklogPolicy> backlog_policy;  // --upload-backlog-policy
  std::optional<uint64_t> backlog_headroom;                // --upload-backlog-headroom
  std::vector<peer::PeerSpec> peers;                       // --peer-object-store, in order
};


std::optional<long> ParseLong(std::string_view s, long min, long max) {
  if (s.empty() || s.size() > 18) return std::nullopt;
  long v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + (c - '0');
  }
  if (v < min || v > max) return std::nullopt;
  return v;
}

bool ValidSize(std::string_view s) {
  if (s.empty()) return false;
  std::string_view digits = s;
  char last = s.back();
  if (last == 'K' || last == 'M' || last == 'G' || last == 'k' || last == 'm' || last == 'g') {
    digits = s.substr(0, s.size() - 1);
  }
  return ParseLong(digits, 1, 1L << 40).has_value();
}

// "50G", "512M", "1048576": bytes.
std::optional<uint64_t> ParseBytes(std::string_view s) {
  uint64_t mult = 1;
  if (!s.empty()) {
    switch (s.back()) {
      case 'K': case 'k': mult = 1ull << 10; break;
      case 'M': case 'm': mult = 1ull << 20; break;
      case 'G': case 'g': mult = 1ull << 30; break;
      case 'T': case 't': mult = 1ull << 40; break;
      default: break;
    }
    if (mult != 1) s.remove_suffix(1);
  }
  std::optional<long> v = ParseLong(s, 1, 1L << 50);
  if (!v) return std::nullopt;
  return static_cast<uint64_t>(*v) * mult;
}

// Parses argv; prints the problem and returns nullopt on bad usage.
std::optional<Flags> ParseFlags(int argc, char** argv, bool* help) {
  Flags f;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    std::string value;
    auto take = [&](std::string_view name) -> bool {
      if (arg == name) {
        if (i + 1 >= argc) return false;
        value = argv[++i];
        return true;
      }
      if (arg.size() > name.size() + 1 && arg.substr(0, name.size()) == name &&
          arg[name.size()] == '=') {
        value = std::string(arg.substr(name.size() + 1));
        return true;
      }
      return false;
    };
    auto set_file = [&](const char* name, std::string* out) {
      if (value.empty()) {
        std::fprintf(stderr, "rewindd: %s wants a file\n", name);
        return false;
      }
      *out = std::filesystem::absolute(value).lexically_normal().string();
      return true;
    };
    if (arg == "--help" || arg == "-h") {
      *help = true;
      return f;
    } else if (take("--data-dir")) {
      if (value.empty()) {
        std::fprintf(stderr, "rewindd: --data-dir must not be empty\n");
        return std::nullopt;
      }
      f.data_dir = std::filesystem::absolute(value).lexically_normal().string();
      while (f.data_dir.size() > 1 && f.data_dir.back() == '/') f.data_dir.pop_back();
    } else if (take("--listen")) {
      size_t colon = value.rfind(':');
      std::optional<long> port;
      if (colon != std::string::npos && colon > 0) {
        port = ParseLong(std::string_view(value).substr(colon + 1), 0, 65535);
      }
      if (!port) {
        std::fprintf(stderr, "rewindd: --listen wants HOST:PORT (e.g. 127.0.0.1:8686), got '%s'\n",
                     value.c_str());
        return std::nullopt;
      }
      f.listen_host = value.substr(0, colon);
      if (f.listen_host.size() > 2 && f.listen_host.front() == '[' && f.listen_host.back() == ']') {
        f.listen_host = f.listen_host.substr(1, f.listen_host.size() - 2);  // [::1]:8686
      }
      f.listen_port = static_cast<int>(*port);
    } else if (take("--first-port")) {
      std::optional<long> port = ParseLong(value, 1, 65535);
      if (!port) {
        std::fprintf(stderr, "rewindd: --first-port wants a port 1..65535, got '%s'\n",
                     value.c_str());
        return std::nullopt;
      }
      f.first_port = static_cast<int>(*port);
    } else if (take("--reader-endpoint-host")) {
      in_addr parsed{};
      if (value != "none" && ::inet_pton(AF_INET, value.c_str(), &parsed) != 1) {
        std::fprintf(stderr,
                     "rewindd: --reader-endpoint-host wants a numeric IPv4 address or none, "
                     "got '%s'\n",
                     value.c_str());
        return std::nullopt;
      }
      f.reader_host = value == "none" ? "" : value;
    } else if (take("--time-travel-first-port")) {
      std::optional<long> port = ParseLong(value, 1024, 65535);
      if (!port) {
        std::fprintf(stderr, "rewindd: --time-travel-first-port wants a port 1024..65535, got '%s'\n",
                     value.c_str());
        return std::nullopt;
      }
      f.time_travel_first_port = static_cast<int>(*port);
    } else if (take("--time-travel-poll")) {
      std::optional<long> ms = ParseLong(value, 100, 3'600'000);
      if (!ms) {
        std::fprintf(stderr, "rewindd: --time-travel-poll wants milliseconds 100..3600000, got '%s'\n",
                     value.c_str());
        return std::nullopt;
      }
      f.time_travel_poll_ms = *ms;
    } else if (take("--buffer-pool")) {
      if (!ValidSize(value)) {
        std::fprintf(stderr, "rewindd: --buffer-pool wants a size such as 256M or 1G, got '%s'\n",
                     value.c_str());
        return std::nullopt;
      }
      f.buffer_pool = value;
    } else if (take("--history-budget")) {
      std::optional<uint64_t> b = ParseBytes(value);
      if (!b || *b < (64ull << 20)) {
        std::fprintf(stderr, "rewindd: --history-budget wants a size of at least 64M, such as "
                             "50G, got '%s'\n", value.c_str());
        return std::nullopt;
      }
      f.history_budget = *b;
    } else if (take("--clean-interval")) {
      std::optional<long> ms = ParseLong(value, 100, 3'600'000);
      if (!ms) {
        std::fprintf(stderr, "rewindd: --clean-interval wants milliseconds 100..3600000, got "
                             "'%s'\n", value.c_str());
        return std::nullopt;
      }
      f.clean_interval_ms = *ms;
    } else if (take("--compress")) {
      if (value != "on" && value != "off") {
        std::fprintf(stderr, "rewindd: --compress wants on or off, got '%s'\n", value.c_str());
        return std::nullopt;
      }
      f.compress = value == "on";
    } else if (take("--compress-level")) {
      // ParseLong takes no sign: a leading '-' selects zstd's fast negative levels.
      const bool negative = !value.empty() && value[0] == '-';
      std::optional<long> level = ParseLong(negative ? value.substr(1) : value, 0, 9);
      if (!level || (negative && *level > 7)) {
        std::fprintf(stderr, "rewindd: --compress-level wants -7..9, got '%s'\n", value.c_str());
        return std::nullopt;
      }
      f.compress_level = static_cast<int>(negative ? -*level : *level);
    } else if (take("--retry-failed-interval")) {
      std::optional<long> ms = ParseLong(value, 0, 86'400'000);
      if (!ms || (*ms > 0 && *ms < 100)) {
        std::fprintf(stderr, "rewindd: --retry-failed-interval wants 0 or milliseconds "
                             "100..86400000, got '%s'\n", value.c_str());
        return std::nullopt;
      }
      f.retry_failed_interval_ms = *ms;
    } else if (take("--tls-cert")) {
      if (!set_file("--tls-cert", &f.tls_cert)) return std::nullopt;
    } else if (take("--tls-key")) {
      if (!set_file("--tls-key", &f.tls_key)) return std::nullopt;
    } else if (arg == "--allow-plain-http-on-trusted-network") {
      f.allow_plain_http = true;
    } else if (take("--event-retention-days")) {
      std::optional<long> days = ParseLong(value, 1, 3650);
      if (!days) {
        std::fprintf(stderr, "rewindd: --event-retention-days wants days 1..3650, got '%s'\n",
                     value.c_str());
        return std::nullopt;
      }
      f.event_retention_days = *days;
    } else if (take("--engine-user")) {
      if (value.empty() || value == "root" || value == "0") {
        std::fprintf(stderr, "rewindd: --engine-user wants an unprivileged user name, got '%s'\n",
                     value.c_str());
        return std::nullopt;
      }
      f.engine_user = value;
    } else if (take("--engine-uid-base")) {
      constexpr long kMaxBase = 4294967294L - 65535;  // the last slot stays below (uid_t)-1
      std::optional<long> base = ParseLong(value, 65536, kMaxBase);
      if (!base) {
        std::fprintf(stderr, "rewindd: --engine-uid-base wants a uid from 65536 to %ld, got '%s'\n",
                     kMaxBase, value.c_str());
        return std::nullopt;
      }
      f.engine_uid_base = *base;
    } else if (take("--object-store")) {
      if (Result<objstore::S3Location> loc = objstore::ParseS3Url(value); !loc.ok()) {
        std::fprintf(stderr, "rewindd: --object-store: %s\n", loc.status().message().c_str());
        return std::nullopt;
      }
      f.object_store = value;
    } else if (take("--s3-endpoint")) {
      f.s3_endpoint = value;
    } else if (take("--s3-region")) {
      f.s3_region = value;
    } else if (take("--local-history-budget")) {
      std::optional<uint64_t> b = value == "0" ? std::optional<uint64_t>(0) : ParseBytes(value);
      if (!b) {
        std::fprintf(stderr, "rewindd: --local-history-budget wants a size such as 20G or 0, "
                             "got '%s'\n", value.c_str());
        return std::nullopt;
      }
      f.local_history_budget = b;
    } else if (take("--upload-backlog-policy")) {
      Result<objstore::BacklogPolicy> p = objstore::ParseBacklogPolicy(value);
      if (!p.ok()) {
        std::fprintf(stderr, "rewindd: --upload-backlog-policy: %s\n", p.status().message().c_str());
        return std::nullopt;
      }
      f.backlog_policy = *p;
    } else if (take("--upload-backlog-headroom")) {
      std::optional<uint64_t> b = ParseBytes(value);
      // The active segment is never evicted and the one just closed waits for the next
      // pass: below two segments (64 MiB each) a log that keeps up would look full.
      if (!b || *b < (128ull << 20)) {
        std::fprintf(stderr, "rewindd: --upload-backlog-headroom wants a size of at least 128M "
                             "(two log segments), got '%s'\n", value.c_str());
        return std::nullopt;
      }
      f.backlog_headroom = b;
    } else if (take("--peer-object-store")) {
      // The API's account id names this node's own clusters in ARNs: no peer may take it.
      if (Status s = peer::AddPeerSpec(value, api::RenderOptions{}.account_id, &f.peers);
          !s.ok()) {
        std::fprintf(stderr, "rewindd: %s\n", s.message().c_str());
        return std::nullopt;
      }
    } else if (arg == "--restore") {
      f.restore = true;
    } else if (take("--console-dir")) {
      if (!set_file("--console-dir", &f.console_dir)) return std::nullopt;
    } else {
      std::fprintf(stderr, "rewindd: unknown or incomplete argument '%s'\n", argv[i]);
      return std::nullopt;
    }
  }
  if (f.object_store.empty() && (!f.s3_endpoint.empty() || !f.s3_region.empty() || f.restore)) {
    std::fprintf(stderr, "rewindd: --s3-endpoint, --s3-region and --restore need --object-store\n");
    return std::nullopt;
  }
  if (f.object_store.empty() && !f.peers.empty()) {
    std::fprintf(stderr, "rewindd: --peer-object-store needs --object-store: a peer clone's "
                         "pin names this node's store in the peer's bucket, and its writes "
                         "are shipped to this node's own bucket\n");
    return std::nullopt;
  }
  for (const peer::PeerSpec& p : f.peers) {
    if (Result<objstore::S3Config> c = objstore::MakeS3Config(p.url, f.s3_endpoint, f.s3_region);
        !c.ok()) {
      std::fprintf(stderr, "rewindd: --peer-object-store %s: %s\n", p.name.c_str(),
                   c.status().message().c_str());
      return std::nullopt;
    }
  }
  if (!f.local_history_budget && (f.backlog_policy || f.backlog_headroom)) {
    std::fprintf(stderr, "rewindd: --upload-backlog-policy and --upload-backlog-headroom need "
                         "--local-history-budget: the policy applies when the local log passes "
                         "that budget\n");
    return std::nullopt;
  }
  if (f.object_store.empty() && f.local_history_budget) {
    std::fprintf(stderr, "rewindd: --local-history-budget needs --object-store: history evicted "
                         "from the local disk is read back from the bucket, and without one it "
                         "would be lost\n");
    return std::nullopt;
  }
  if (!f.object_store.empty()) {
    if (Result<objstore::S3Config> c =
            objstore::MakeS3Config(f.object_store, f.s3_endpoint, f.s3_region);
        !c.ok()) {
      std::fprintf(stderr, "rewindd: %s\n", c.status().message().c_str());
      return std::nullopt;
    }
  }
  if (f.tls_cert.empty() != f.tls_key.empty()) {
    std::fprintf(stderr, "rewindd: --tls-cert and --tls-key go together: give both or neither\n");
    return std::nullopt;
  }
  const bool tls = !f.tls_cert.empty();
  if (tls && f.allow_plain_http) {
    std::fprintf(stderr, "rewindd: --allow-plain-http-on-trusted-network has no effect with "
                         "--tls-cert/--tls-key (the API is HTTPS): drop one\n");
    return std::nullopt;
  }
  // Before anything is opened, mounted or bound: nothing listens on a network in clear.
  if (Status s = tls::CheckPlainHttpListen(f.listen_host, tls, f.allow_plain_http); !s.ok()) {
    std::fprintf(stderr, "rewindd: %s\n", s.message().c_str());
    return std::nullopt;
  }
  return f;
}

// DIR/rewindd.pid, held with an exclusive flock for the daemon's life.
class PidFile {
 public:
  static Result<std::unique_ptr<PidFile>> Acquire(const std::string& path) {
    int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) return Status::FromErrno(errno, "opening " + path);
    if (::fchmod(fd, 0600) != 0) {  // one left by an older version was 0644
      Status failed = Status::FromErrno(errno, "chmod " + path);
      ::close(fd);
      return failed;
    }
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
      int err = errno;
      char buf[32] = {};
      ssize_t n = ::pread(fd, buf, sizeof(buf) - 1, 0);
      ::close(fd);
      if (err == EWOULDBLOCK) {
        std::string other = n > 0 ? std::string(buf, static_cast<size_t>(n)) : "?";
        while (!other.empty() && (other.back() == '\n' || other.back() == ' ')) other.pop_back();
        return Status::FailedPrecondition("another rewindd (pid " + other +
                                          ") is running on this data dir (" + path + " is locked)");
      }
      return Status::FromErrno(err, "locking " + path);
    }
    std::string pid = std::to_string(::getpid()) + "\n";
    if (::ftruncate(fd, 0) != 0 ||
        ::pwrite(fd, pid.data(), pid.size(), 0) != static_cast<ssize_t>(pid.size())) {
      Status s = Status::FromErrno(errno, "writing " + path);
      ::close(fd);
      return s;
    }
    return std::unique_ptr<PidFile>(new PidFile(path, fd));
  }
  ~PidFile() {
    ::unlink(path_.c_str());  // while still locked: no other rewindd can have taken it over
    ::close(fd_);
  }
  PidFile(const PidFile&) = delete;
  PidFile& operator=(const PidFile&) = delete;

 private:
  PidFile(std::string path, int fd) : path_(std::move(path)), fd_(fd) {}
  std::string path_;
  int fd_;
};

void LogCall(const api::ApiCallRecord& r) {
  std::fprintf(stderr, "rewindd: api %s %d %s %.1fms key=%s req=%s\n",
               r.action.empty() ? "-" : r.action.c_str(), r.http_status,
               r.error_code.empty() ? "OK" : r.error_code.c_str(),
               static_cast<double>(r.duration_ns) / 1e6,
               r.access_key_id.empty() ? "-" : r.access_key_id.c_str(), r.request_id.c_str());
}

// The store's durable log, as the shipper (which does not depend on the store) sees it.
objstore::LogSnapshot ShipperLog(const store::Store& store) {
  store::DurableLog d = store.DurableLogState();
  objstore::LogSnapshot snap;
  snap.lsn = d.lsn.value;
  snap.segment = d.segment;
  snap.offset = d.offset;
  snap.active_segment = d.active_segment;
  snap.active_path = std::move(d.active_path);
  for (store::LogFileInfo& f : d.closed) {
    snap.closed.push_back(
        objstore::LocalSegmentFile{f.segment, f.file_id, std::move(f.path), f.size, f.cold});
  }
  return snap;
}

int Run(int argc, char** argv) {
  bool help = false;
  std::optional<Flags> flags = ParseFlags(argc, argv, &help);
  if (help) {
    std::fputs(kUsage, stdout);
    return 0;
  }
  if (!flags) {
    std::fputs(kUsage, stderr);
    return 2;
  }

  // Signals are taken by sigwait in this thread: block them before any thread exists, so every
  // thread (server workers, FUSE loops, engine reapers) inherits the mask. Spawned mariadbds get
  // a clean mask from the engine. SIGCHLD stays default: the engine reaps its own children.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGHUP);
  if (int rc = pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr); rc != 0) {
    std::fprintf(stderr, "rewindd: pthread_sigmask: %s\n", std::strerror(rc));
    return 1;
  }
  std::signal(SIGPIPE, SIG_IGN);  // a client that hangs up must not kill the daemon
  // Every file is created with an explicit mode; this catches any that is not (libraries').
  ::umask(077);

  if (!flags->tls_cert.empty()) {
    // Checked before the data dir is touched: a bad file stops rewindd with nothing started.
    // ApiServer::Start loads the pair again when it binds.
    Result<tls::ServerIdentity> id =
        tls::ServerIdentity::Load(flags->tls_cert, flags->tls_key, api::NowNs() / api::kNanosPerSecond);
    if (!id.ok()) {
      std::fprintf(stderr, "rewindd: --tls-cert/--tls-key: %s\n", id.status().message().c_str());
      return 1;
    }
  }

  const std::string& dir = flags->data_dir;
  std::error_code ec;
  if (!std::filesystem::exists(dir, ec)) {
    std::filesystem::create_directories(dir, ec);
    if (ec) {
      std::fprintf(stderr, "rewindd: cannot create data dir %s: %s\n", dir.c_str(),
                   ec.message().c_str());
      return 1;
    }
    ::chmod(dir.c_str(), 0700);
  }
  Result<std::unique_ptr<PidFile>> pid_file = PidFile::Acquire(dir + "/rewindd.pid");
  if (!pid_file.ok()) {
    std::fprintf(stderr, "rewindd: %s\n", pid_file.status().ToString().c_str());
    return 1;
  }
  Result<api::Credentials> creds = api::LoadOrCreateCredentials(dir);
  if (!creds.ok()) {
    std::fprintf(stderr, "rewindd: credentials: %s\n", creds.status().ToString().c_str());
    return 1;
  }

  // The object store is checked before the store is opened or anything mounted: a bad bucket
  // or missing credentials stop rewindd with nothing started. The shipper reads the service
  // through `svc`, set once the service is open (it starts only then).
  std::unique_ptr<objstore::S3Client> s3;
  std::unique_ptr<objstore::Shipper> shipper;
  std::unique_ptr<objstore::BacklogGate> backlog_gate;  // before the service: its store uses it
  std::unique_ptr<objstore::ColdTier> cold_tier;  // outlives the service (its store reads it)
  // The peers' views, opened before the service's store (which reads its peer clones through
  // them) and closed after it.
  std::unique_ptr<peer::ObjectStorePeers> peers;
  cluster::ClusterService* svc_for_shipper = nullptr;
  if (!flags->object_store.empty()) {
    Result<objstore::S3Config> config =
        objstore::MakeS3Config(flags->object_store, flags->s3_endpoint, flags->s3_region);
    Result<objstore::Credentials> s3_creds = objstore::ResolveCredentials(objstore::ProcessEnv());
    if (!s3_creds.ok()) {
      std::fprintf(stderr, "rewindd: --object-store: credentials: %s\n",
                   s3_creds.status().message().c_str());
      return 1;
    }
    Result<std::unique_ptr<objstore::S3Client>> client =
        config.ok() ? objstore::S3Client::Create(*config, *s3_creds)
                    : Result<std::unique_ptr<objstore::S3Client>>(config.status());
    if (!client.ok()) {
      std::fprintf(stderr, "rewindd: --object-store: %s\n", client.status().message().c_str());
      return 1;
    }
    s3 = std::move(client).value();
    if (flags->restore) {
      Result<objstore::RestoreReport> r = objstore::RestoreFromBucket(s3.get(), dir);
      if (!r.ok()) {
        std::fprintf(stderr, "rewindd: --restore: %s\n", r.status().ToString().c_str());
        return 1;
      }
      std::fprintf(stderr,
                   "rewindd: restored store %s as of LSN %" PRIu64 " from %s: %" PRIu64
                   " segment files, %" PRIu64 " bytes, checkpoint %s, metadata %s\n",
                   r->store_id.c_str(), r->lsn, flags->object_store.c_str(), r->files, r->bytes,
                   r->checkpoint ? "yes" : "no", r->meta ? "yes" : "no");
    }
    std::filesystem::create_directories(dir + "/store", ec);
    objstore::ShipperSource source;
    source.durable_log = [&svc_for_shipper] { return ShipperLog(svc_for_shipper->store()); };
    source.meta_changes = [&svc_for_shipper] { return svc_for_shipper->MetadataChanges(); };
    source.snapshot_meta = [&svc_for_shipper](const std::string& path,
                                              int64_t* changes) -> Result<uint64_t> {
      ASSIGN_OR_RETURN(store::Lsn lsn, svc_for_shipper->SnapshotMetadata(path, changes));
      return lsn.value;
    };
    // Each engine's run/ID/root.password (when the engine keeps one there) and each cluster
    // snapshot's snapshots/ID.root-password: a restored cluster's mariadbd, or one restored
    // from a snapshot, cannot be managed without it.
    source.data_dir = dir;
    source.aux_files = [dir] {
      std::vector<std::string> files;
      std::error_code it_ec;
      for (const auto& e : std::filesystem::directory_iterator(dir + "/run", it_ec)) {
        const std::string rel = "run/" + e.path().filename().string() + "/root.password";
        if (std::filesystem::exists(dir + "/" + rel, it_ec)) files.push_back(rel);
      }
      for (const auto& e : std::filesystem::directory_iterator(dir + "/snapshots", it_ec)) {
        const std::string name = e.path().filename().string();
        if (name.ends_with(".root-password")) files.push_back("snapshots/" + name);
      }
      return files;
    };
    if (flags->local_history_budget) {
      const uint64_t budget = *flags->local_history_budget;
      // The local-buffer policy (backlog_gate.h): the store asks it before every write.
      objstore::BacklogGateOptions go;
      go.policy = flags->backlog_policy.value_or(objstore::BacklogPolicy::kBackPressure);
      go.budget_bytes = budget;
      if (flags->backlog_headroom) go.headroom_bytes = *flags->backlog_headroom;
      objstore::BacklogGateSources gs;
      gs.local_log_bytes = [&svc_for_shipper] {
        return svc_for_shipper ? svc_for_shipper->store().LocalLogBytes() : 0;
      };
      gs.uploads_behind = [&shipper] { return shipper && shipper->stats().lag_bytes > 0; };
      gs.on_state = [&svc_for_shipper](bool full, const std::string& why) {
        std::fprintf(stderr, "rewindd: local buffer %s: %s\n", full ? "full" : "has room",
                     why.c_str());
        if (svc_for_shipper) {
          svc_for_shipper->EventForEveryCluster(
              full ? "The local log is full while uploads to the object store are behind: " + why
                   : "The local log has room again: " + why,
              "notification");
        }
      };
      Result<std::unique_ptr<objstore::BacklogGate>> g =
          objstore::BacklogGate::Create(go, std::move(gs));
      if (!g.ok()) {
        std::fprintf(stderr, "rewindd: %s\n", g.status().ToString().c_str());
        return 1;
      }
      backlog_gate = std::move(g).value();
      source.after_pass = [&svc_for_shipper, &backlog_gate, budget] {
        Result<store::EvictReport> r = svc_for_shipper->store().EvictColdSegments(budget);
        if (!r.ok()) {
          std::fprintf(stderr, "rewindd: evicting uploaded segments: %s\n",
                       r.status().ToString().c_str());
        } else if (r->segments > 0) {
          std::fprintf(stderr, "rewindd: evicted %" PRIu64 " uploaded segments (%" PRIu64
                       " bytes); %" PRIu64 " bytes of the log stay local\n",
                       r->segments, r->bytes, r->local_bytes);
        }
        backlog_gate->Recheck();
      };
    }
    source.on_state = [&svc_for_shipper](bool down, const std::string& why) {
      std::fprintf(stderr, "rewindd: object store: %s: %s\n",
                   down ? "uploads failing" : "uploads caught up", why.c_str());
      svc_for_shipper->EventForEveryCluster(
          down ? "Uploads of the cluster's history to the object store are failing; commits "
                 "go on and are kept locally until they are uploaded: " + why
               : "Uploads of the cluster's history to the object store caught up",
          "notification");
    };
    objstore::ShipperOptions options;
    options.store_dir = dir + "/store";
    options.work_dir = dir;
    Result<std::unique_ptr<objstore::Shipper>> made =
        objstore::Shipper::Create(s3.get(), std::move(source), options);
    if (!made.ok()) {
      std::fprintf(stderr, "rewindd: --object-store: %s\n", made.status().ToString().c_str());
      return 1;
    }
    shipper = std::move(made).value();
    // The bucket is the store's second tier: segments evicted (now or by an earlier run) are
    // read back through it.
    Result<std::unique_ptr<objstore::ColdTier>> tier =
        objstore::ColdTier::Create(s3.get(), shipper->store_id());
    if (!tier.ok()) {
      std::fprintf(stderr, "rewindd: --object-store: %s\n", tier.status().ToString().c_str());
      return 1;
    }
    cold_tier = std::move(tier).value();
    std::fprintf(stderr, "rewindd: shipping the store (id %s) to %s\n",
                 shipper->store_id().c_str(), flags->object_store.c_str());
    if (!flags->peers.empty()) {
      // One client per peer, on the peer's prefix: read-only but for this node's pins.
      std::map<std::string, std::unique_ptr<objstore::S3Client>> clients;
      for (const peer::PeerSpec& p : flags->peers) {
        Result<objstore::S3Config> pc =
            objstore::MakeS3Config(p.url, flags->s3_endpoint, flags->s3_region);
        Result<std::unique_ptr<objstore::S3Client>> c =
            pc.ok() ? objstore::S3Client::Create(*pc, *s3_creds)
                    : Result<std::unique_ptr<objstore::S3Client>>(pc.status());
        if (!c.ok()) {
          std::fprintf(stderr, "rewindd: --peer-object-store %s: %s\n", p.name.c_str(),
                       c.status().message().c_str());
          return 1;
        }
        clients[p.name] = std::move(c).value();
      }
      Result<std::unique_ptr<peer::ObjectStorePeers>> opened = peer::ObjectStorePeers::Open(
          dir + "/peers", shipper->store_id(), std::move(clients),
          [](const std::string& line) { std::fprintf(stderr, "rewindd: peers: %s\n", line.c_str()); });
      if (!opened.ok()) {
        std::fprintf(stderr, "rewindd: --peer-object-store: %s\n",
                     opened.status().ToString().c_str());
        return 1;
      }
      peers = std::move(opened).value();
      for (const peer::PeerSpec& p : flags->peers) {
        std::fprintf(stderr, "rewindd: peer %s at %s\n", p.name.c_str(), p.url.c_str());
      }
      std::fprintf(stderr, "rewindd: %zu peer view(s) opened from %s/peers\n", peers->views(),
                   dir.c_str());
    }
  }

  cluster::ServiceOptions so;
  so.data_dir = dir;
  so.first_port = flags->first_port;
  so.reader_host = flags->reader_host;
  so.innodb_buffer_pool_size = flags->buffer_pool;
  so.history_budget_bytes = flags->history_budget;
  so.store_tier = cold_tier.get();
  so.store_write_gate = backlog_gate.get();
  so.peers = peers.get();
  so.clean_interval_ms = flags->clean_interval_ms;
  so.store_compress = flags->compress;
  so.store_compress_level = flags->compress_level;
  so.retry_failed_interval_ms = flags->retry_failed_interval_ms;
  so.event_retention_days = flags->event_retention_days;
  so.engine_user = flags->engine_user;
  so.engine_uid_base = static_cast<uint32_t>(flags->engine_uid_base);
  Result<std::unique_ptr<cluster::ClusterService>> service = cluster::ClusterService::Open(so);
  if (!service.ok()) {
    std::fprintf(stderr, "rewindd: opening %s: %s\n", dir.c_str(),
                 service.status().ToString().c_str());
    return 1;
  }

  if (shipper) {
    svc_for_shipper = service->get();
    shipper->Start();
  }

  // Time-travel instances (issue 17): ephemeral, in memory; destroyed before the service (they
  // use its store), and whatever a crash of an earlier run left is removed now.
  cluster::TimeTravelOptions tto;
  tto.data_dir = dir;
  tto.first_port = flags->time_travel_first_port != 0
                       ? flags->time_travel_first_port
                       : std::min(flags->first_port + 1000, 60000);
  tto.poll_ms = flags->time_travel_poll_ms;
  Result<std::unique_ptr<cluster::TimeTravel>> time_travel =
      cluster::TimeTravel::Open(service->get(), tto);
  if (!time_travel.ok()) {
    std::fprintf(stderr, "rewindd: time travel: %s\n", time_travel.status().ToString().c_str());
    if (backlog_gate) backlog_gate->Release();
    if (shipper) shipper->Stop();
    service->reset();
    return 1;
  }

  int exit_code = 0;
  {
    api::RdsHandler rds_handler(service->get());
    api::AsOfHandler asof_handler(time_travel->get());
    api::ChainHandler handler(&asof_handler, api::AsOfHandler::Actions(), &rds_handler);
    std::vector<std::string_view> all_actions = api::RdsHandler::Actions();
    all_actions.insert(all_actions.end(), api::AsOfHandler::Actions().begin(),
                       api::AsOfHandler::Actions().end());
    ApiMetrics metrics(all_actions);
    api::ApiServerOptions ao;
    ao.host = flags->listen_host;
    ao.port = flags->listen_port;
    ao.credentials = api::SingleKeyLookup(*creds);
    ao.tls_cert_file = flags->tls_cert;
    ao.tls_key_file = flags->tls_key;
    ao.on_call = [&metrics](const api::ApiCallRecord& r) {
      metrics.Record(r);
      LogCall(r);
    };
    api::ApiServer server(std::move(ao), &handler);
    console::ConsoleOptions co;
    co.assets_dir = flags->console_dir;
    co.tls = !flags->tls_cert.empty();
    co.loopback_only = tls::IsLoopbackHost(flags->listen_host);
    co.log = [](const std::string& line) { std::fprintf(stderr, "rewindd: %s\n", line.c_str()); };
    console::Console web_console(service->get(), time_travel->get(), *creds, std::move(co));
    web_console.Register(&server);
    cluster::ClusterService* svc = service->get();
    server.SetMetricsHandler([&metrics, svc, &shipper, &cold_tier, &backlog_gate] {
      Result<std::vector<cluster::ClusterView>> clusters = svc->DescribeClusters(std::nullopt);
      return metrics.Render(clusters.ok() ? *clusters : std::vector<cluster::ClusterView>{}) +
             RenderRetention(svc->Retention()) + RenderReplicas(svc->Replicas()) +
             (shipper ? RenderObjectStore(shipper->stats()) : std::string()) +
             (backlog_gate ? RenderBacklog(backlog_gate->stats()) : std::string()) +
             (cold_tier ? RenderColdTier(svc->store().stats(), cold_tier->stats())
                        : std::string());
    });
    Status started = server.Start();
    if (!started.ok()) {
      std::fprintf(stderr, "rewindd: API server: %s\n", started.ToString().c_str());
      exit_code = 1;
    } else {
      std::fprintf(stderr,
                   "rewindd: serving %s (data dir %s; credentials %s, profile %s)\n",
                   server.endpoint_url().c_str(), dir.c_str(),
                   api::CredentialsPath(dir).c_str(), std::string(api::kDefaultProfile).c_str());
      std::fprintf(stderr, "rewindd: web console at %s/ (pages from %s)\n",
                   server.endpoint_url().c_str(), flags->console_dir.c_str());
      int sig = 0;
      while (sigwait(&stop_signals, &sig) != 0) {
      }
      std::fprintf(stderr, "rewindd: %s received, shutting down\n", sigabbrev_np(sig));
    }
    server.Stop();
  }
  // The shipper's last pass ships what is durable now (it reads the store, so it stops before
  // the service closes it); what the engines' shutdown writes after goes up at the next start.
  // Engines must be able to flush at their shutdown whatever the bucket does: what they write
  // stays local (past the budget) and goes up at the next start.
  if (backlog_gate) backlog_gate->Release();
  time_travel->reset();
  if (shipper) shipper->Stop();
  service->reset();
  std::fprintf(stderr, "rewindd: stopped\n");
  return exit_code;
}

}  // namespace
}  // namespace rwd::cli

int main(int argc, char** argv) { return rwd::cli::Run(argc, argv); }
