// rewind-mount: mounts one volume's head timeline (or a timeline at an LSN, read-only) of a
// store at a directory, until SIGINT/SIGTERM, then unmounts cleanly. A debugging tool; rewindd
// serves the mounts in production.
//
//   rewind-mount --store DIR --volume NAME [--create] [--ro [--lsn N]] [--timeline ID]
//                [--threads N] [--debug] MOUNTPOINT
#include <signal.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>

#include "fs/mount.h"
#include "store/store.h"

namespace {

void Usage() {
  std::fprintf(stderr,
               "usage: rewind-mount --store DIR (--volume NAME [--create] | --timeline ID)\n"
               "                    [--ro [--lsn N]] [--threads N] [--debug] MOUNTPOINT\n"
               "  --create     create the volume if it does not exist\n"
               "  --ro         read-only, at --lsn N (default: the newest record at start)\n"
               "Runs until SIGINT or SIGTERM, then unmounts.\n");
}

bool ParseU64(const char* s, uint64_t* out) {
  char* end = nullptr;
  errno = 0;
  unsigned long long v = std::strtoull(s, &end, 10);
  if (errno != 0 || end == s || *end != '\0') return false;
  *out = v;
  return true;
}

int Fail(const std::string& what, const rwd::Status& st) {
  std::fprintf(stderr, "rewind-mount: %s: %s\n", what.c_str(), st.ToString().c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  std::string store_dir, volume, mountpoint;
  bool create = false;
  uint64_t timeline = 0;
  uint64_t threads = 4;
  rwd::fs::MountOptions options;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&](const char* name) -> const char* {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "rewind-mount: %s needs a value\n", name);
        std::exit(2);
      }
      return argv[++i];
    };
    uint64_t n;
    if (a == "--store") {
      store_dir = next("--store");
    } else if (a == "--volume") {
      volume = next("--volume");
    } else if (a == "--create") {
      create = true;
    } else if (a == "--timeline") {
      if (!ParseU64(next("--timeline"), &timeline)) return Usage(), 2;
    } else if (a == "--ro") {
      options.read_only = true;
    } else if (a == "--lsn") {
      if (!ParseU64(next("--lsn"), &n)) return Usage(), 2;
      options.read_lsn = rwd::store::Lsn(n);
    } else if (a == "--threads") {
      if (!ParseU64(next("--threads"), &threads) || threads == 0 || threads > 64) {
        return Usage(), 2;
      }
    } else if (a == "--debug") {
      options.debug = true;
    } else if (a == "-h" || a == "--help") {
      Usage();
      return 0;
    } else if (!a.empty() && a[0] == '-') {
      std::fprintf(stderr, "rewind-mount: unknown option %s\n", a.c_str());
      Usage();
      return 2;
    } else if (mountpoint.empty()) {
      mountpoint = a;
    } else {
      Usage();
      return 2;
    }
  }
  if (store_dir.empty() || mountpoint.empty() || (volume.empty() == (timeline == 0))) {
    Usage();
    return 2;
  }
  if (options.read_lsn != rwd::store::kLatestLsn && !options.read_only) {
    std::fprintf(stderr, "rewind-mount: --lsn needs --ro\n");
    return 2;
  }
  options.max_threads = static_cast<unsigned>(threads);
  options.statfs_dir = store_dir;

  // Block the signals before any thread starts, so that every thread inherits the mask and
  // only sigwait below receives them.
  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGINT);
  sigaddset(&sigs, SIGTERM);
  sigaddset(&sigs, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &sigs, nullptr);

  rwd::store::StoreOptions so;
  so.dir = store_dir;
  auto store = rwd::store::Store::Open(so);
  if (!store.ok()) return Fail("open store " + store_dir, store.status());
  const rwd::store::RecoveryReport& rr = (*store)->recovery();
  if (rr.tail_cut) {
    std::fprintf(stderr, "rewind-mount: store recovery cut a torn tail: %s\n",
                 rr.cut_reason.c_str());
  }

  rwd::store::TimelineId tl(timeline);
  if (!volume.empty()) {
    auto v = (*store)->FindVolume(volume);
    if (!v.ok() && v.status().code() == rwd::Status::Code::kNotFound && create) {
      v = (*store)->CreateVolume(volume);
    }
    if (!v.ok()) return Fail("volume " + volume, v.status());
    tl = v->head;
  }

  auto mount = rwd::fs::Mount::Start(store->get(), tl, mountpoint, options);
  if (!mount.ok()) return Fail("mount", mount.status());
  std::fprintf(stderr, "rewind-mount: timeline %s %s at %s%s\n", tl.ToString().c_str(),
               options.read_only ? "read-only" : "read-write", mountpoint.c_str(),
               options.read_only ? (" (lsn " + (*mount)->lsn().ToString() + ")").c_str() : "");

  int sig = 0;
  sigwait(&sigs, &sig);
  std::fprintf(stderr, "rewind-mount: %s, unmounting\n", strsignal(sig));
  rwd::Status st = (*mount)->Stop();
  int rc = 0;
  if (!st.ok()) {
    Fail("unmount", st);
    rc = 1;
  }
  mount->reset();
  rwd::Status sync = (*store)->Sync();
  if (!sync.ok()) {
    Fail("sync", sync);
    rc = 1;
  }
  store->reset();
  return rc;
}
