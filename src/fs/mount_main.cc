// rewind-mount: mounts one volume's head timeline (or a timeline at an LSN, read-only, or a new
// writable branch of a timeline at an LSN) of a store at a directory, until SIGINT/SIGTERM,
// then unmounts cleanly. A debugging and test tool; rewindd serves the mounts in production.
//
//   rewind-mount --store DIR (--volume NAME [--create] | --timeline ID | --branch ID:LSN)
//                [--ro [--lsn N]] [--threads N] [--compress on|off] [--compress-level N]
//                [--write-through on|off] [--eager-sync on|off] [--realtime N] [--admit-user NAME] [--control FIFO]
//                [--debug] MOUNTPOINT
//
// Output. stderr: a human log. stdout: one machine-readable line per event, flushed at once:
//   timeline ID               the timeline mounted at MOUNTPOINT (for --branch: the new one)
//   lsn N                     after SIGUSR1 or the `lsn` command: the store's last LSN
//   branch ID LSN MOUNTPOINT  after the `branch` command
//   unmounted MOUNTPOINT      after the `unmount` command
//   error MESSAGE             a control command failed
//
// Control (--control FIFO): the FIFO is created (mode 0600) if missing and read for commands,
// one per line, so that a script can act on the live store that this process holds (a store is
// opened by one process only):
//   lsn                       print the store's last LSN
//   branch LSN MOUNTPOINT     branch the main mount's timeline at LSN (<= the last LSN) and
//                             mount the new timeline read-write at MOUNTPOINT
//   unmount MOUNTPOINT        unmount a mount made by `branch`
// Every extra mount is unmounted at exit, before the main one.
#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "fs/mount.h"
#include "store/store.h"

namespace {

void Usage() {
  std::fprintf(
      stderr,
      "usage: rewind-mount --store DIR (--volume NAME [--create] | --timeline ID | --branch ID:LSN)\n"
      "                    [--ro [--lsn N]] [--threads N] [--compress on|off] [--compress-level N]\n"
      "                    [--write-through on|off] [--eager-sync on|off] [--realtime N]\n"
      "                    [--admit-user NAME]\n"
      "                    [--control FIFO] [--debug]\n"
      "                    MOUNTPOINT\n"
      "  --create        create the volume if it does not exist\n"
      "  --branch ID:LSN mount a new writable timeline branched from timeline ID at LSN\n"
      "  --ro            read-only, at --lsn N (default: the newest record at start)\n"
      "  --compress on|off  store written data zstd-compressed where it pays (default off)\n"
      "  --compress-level N zstd level, -7..9 (default 1)\n"
      "  --write-through on|off  every write and namespace change durable before its reply,\n"
      "                  fsync answered ENOSYS (no round trip); off: fsync syncs (default off)\n"
      "  --eager-sync on|off  (write-through off) a write to a file synced after each write or two (a redo log)\n"
      "                  starts the device sync before its fsync arrives (default on)\n"
      "  --realtime N    FUSE workers run SCHED_FIFO at priority N, 1..99; 0: the normal\n"
      "                  scheduler (default 0)\n"
      "  --admit-user NAME  let this user (and root) use the mount, as rewindd does for the\n"
      "                  engine user (allow_other; every other uid gets EACCES)\n"
      "  --control FIFO  read commands from FIFO: 'lsn', 'branch LSN MOUNTPOINT',\n"
      "                  'unmount MOUNTPOINT' (replies on stdout)\n"
      "Runs until SIGINT or SIGTERM, then unmounts. SIGUSR1 prints the store's last LSN.\n");
}

bool ParseU64(const std::string& s, uint64_t* out) {
  char* end = nullptr;
  errno = 0;
  unsigned long long v = std::strtoull(s.c_str(), &end, 10);
  if (errno != 0 || end == s.c_str() || *end != '\0') return false;
  *out = v;
  return true;
}

int Fail(const std::string& what, const rwd::Status& st) {
  std::fprintf(stderr, "rewind-mount: %s: %s\n", what.c_str(), st.ToString().c_str());
  return 1;
}

// One machine-readable line on stdout.
void Say(const std::string& line) {
  static std::mutex mu;
  std::lock_guard<std::mutex> lock(mu);
  std::fprintf(stdout, "%s\n", line.c_str());
  std::fflush(stdout);
}

void PrintStats(const char* what, const rwd::fs::Mount& m) {
  rwd::fs::MountStats s = m.stats();
  std::fprintf(stderr,
               "rewind-mount: %s %s: %llu writes (%llu bytes), %llu reads (%llu bytes), "
               "%llu syncs + %llu write-through syncs (mean %.0f us), %llu eager syncs, "
               "%llu errors, %llu forget mismatches, %llu realtime workers\n",
               what, m.mountpoint().c_str(), (unsigned long long)s.writes,
               (unsigned long long)s.write_bytes, (unsigned long long)s.reads,
               (unsigned long long)s.read_bytes, (unsigned long long)s.syncs,
               (unsigned long long)s.write_syncs,
               s.syncs + s.write_syncs
                   ? static_cast<double>(s.sync_latency_ns) / 1e3 / (s.syncs + s.write_syncs)
                   : 0.0,
               (unsigned long long)s.eager_syncs,
               (unsigned long long)s.errors, (unsigned long long)s.forget_mismatches,
               (unsigned long long)s.realtime_workers);
  if (s.syncs + s.write_syncs == 0) return;
  std::string hist = "rewind-mount: sync latency:";
  for (size_t i = 0; i < s.sync_latency_buckets.size(); ++i) {
    hist += i < rwd::fs::kSyncBucketsUs.size()
                ? " <=" + std::to_string(rwd::fs::kSyncBucketsUs[i]) + "us "
                : " more ";
    hist += std::to_string(s.sync_latency_buckets[i]);
  }
  std::fprintf(stderr, "%s\n", hist.c_str());
}

// The main mount plus the branches mounted through the control FIFO.
class Mounts {
 public:
  Mounts(rwd::store::Store* store, rwd::fs::MountOptions options)
      : store_(store), options_(std::move(options)) {}

  void SetMain(std::unique_ptr<rwd::fs::Mount> m) { main_ = std::move(m); }
  rwd::fs::Mount* main() { return main_.get(); }

  // One control command; returns the reply line.
  std::string Command(const std::string& line) {
    std::istringstream in(line);
    std::string cmd;
    in >> cmd;
    if (cmd == "lsn") return "lsn " + std::to_string(store_->LastLsn().value);
    if (cmd == "branch") {
      std::string lsn_s, mp;
      uint64_t lsn = 0;
      if (!(in >> lsn_s >> mp) || !ParseU64(lsn_s, &lsn)) return "error usage: branch LSN MOUNTPOINT";
      std::lock_guard<std::mutex> lock(mu_);
      if (main_ == nullptr) return "error no main mount";
      auto tl = store_->Branch(main_->timeline(), rwd::store::Lsn(lsn));
      if (!tl.ok()) return "error branch: " + tl.status().ToString();
      rwd::fs::MountOptions o = options_;
      o.read_only = false;
      o.read_lsn = rwd::store::kLatestLsn;
      auto m = rwd::fs::Mount::Start(store_, *tl, mp, o);
      if (!m.ok()) return "error mount " + mp + ": " + m.status().ToString();
      std::fprintf(stderr, "rewind-mount: timeline %s (branch of %s at lsn %llu) read-write at %s\n",
                   tl->ToString().c_str(), main_->timeline().ToString().c_str(),
                   (unsigned long long)lsn, mp.c_str());
      extra_.push_back(std::move(*m));
      return "branch " + std::to_string(tl->value) + " " + std::to_string(lsn) + " " + mp;
    }
    if (cmd == "unmount") {
      std::string mp;
      if (!(in >> mp)) return "error usage: unmount MOUNTPOINT";
      std::lock_guard<std::mutex> lock(mu_);
      for (auto it = extra_.begin(); it != extra_.end(); ++it) {
        if ((*it)->mountpoint() != mp) continue;
        PrintStats("unmount", **it);
        rwd::Status st = (*it)->Stop();
        extra_.erase(it);
        if (!st.ok()) return "error unmount " + mp + ": " + st.ToString();
        return "unmounted " + mp;
      }
      return "error no branch mounted at " + mp;
    }
    return "error unknown command '" + cmd + "'";
  }

  // Stops every mount, extra ones first. Returns false if one was busy.
  bool StopAll() {
    std::lock_guard<std::mutex> lock(mu_);
    bool ok = true;
    for (auto& m : extra_) {
      PrintStats("exit", *m);
      rwd::Status st = m->Stop();
      if (!st.ok()) ok = (Fail("unmount " + m->mountpoint(), st), false);
    }
    extra_.clear();
    if (main_) {
      PrintStats("exit", *main_);
      rwd::Status st = main_->Stop();
      if (!st.ok()) ok = (Fail("unmount " + main_->mountpoint(), st), false);
      main_.reset();
    }
    return ok;
  }

 private:
  rwd::store::Store* const store_;
  const rwd::fs::MountOptions options_;
  std::mutex mu_;
  std::unique_ptr<rwd::fs::Mount> main_;
  std::vector<std::unique_ptr<rwd::fs::Mount>> extra_;
};

}  // namespace

int main(int argc, char** argv) {
  std::string store_dir, volume, mountpoint, control;
  bool create = false;
  uint64_t timeline = 0;
  bool branch = false;
  uint64_t branch_of = 0, branch_lsn = 0;
  uint64_t threads = rwd::fs::MountOptions{}.max_threads;
  rwd::fs::MountOptions options;
  rwd::store::StoreOptions so;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&](const char* name) -> std::string {
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
      if (!ParseU64(next("--timeline"), &timeline) || timeline == 0) return Usage(), 2;
    } else if (a == "--branch") {
      std::string v = next("--branch");
      size_t colon = v.find(':');
      if (colon == std::string::npos || !ParseU64(v.substr(0, colon), &branch_of) ||
          !ParseU64(v.substr(colon + 1), &branch_lsn) || branch_of == 0) {
        return Usage(), 2;
      }
      branch = true;
    } else if (a == "--ro") {
      options.read_only = true;
    } else if (a == "--lsn") {
      if (!ParseU64(next("--lsn"), &n)) return Usage(), 2;
      options.read_lsn = rwd::store::Lsn(n);
    } else if (a == "--threads") {
      if (!ParseU64(next("--threads"), &threads) || threads == 0 || threads > 64) {
        return Usage(), 2;
      }
    } else if (a == "--compress") {
      const std::string v = next("--compress");
      if (v != "on" && v != "off") return Usage(), 2;
      so.compress = v == "on";
    } else if (a == "--write-through") {
      const std::string v = next("--write-through");
      if (v != "on" && v != "off") return Usage(), 2;
      options.write_through = v == "on";
    } else if (a == "--eager-sync") {
      const std::string v = next("--eager-sync");
      if (v != "on" && v != "off") return Usage(), 2;
      options.eager_sync = v == "on";
    } else if (a == "--realtime") {
      uint64_t priority = 0;
      if (!ParseU64(next("--realtime"), &priority) || priority > 99) return Usage(), 2;
      options.realtime_priority = static_cast<int>(priority);
    } else if (a == "--compress-level") {
      const std::string v = next("--compress-level");
      char* end = nullptr;
      const long level = std::strtol(v.c_str(), &end, 10);
      if (end == v.c_str() || *end != '\0' || level < -7 || level > 9) return Usage(), 2;
      so.compress_level = static_cast<int>(level);
    } else if (a == "--admit-user") {
      const std::string name = next("--admit-user");
      const struct passwd* user = ::getpwnam(name.c_str());
      if (user == nullptr) {
        std::fprintf(stderr, "rewind-mount: --admit-user: no user named '%s'\n", name.c_str());
        return 2;
      }
      options.allow_other = true;
      options.admitted_uids.push_back(user->pw_uid);
    } else if (a == "--control") {
      control = next("--control");
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
  const int sources = !volume.empty() + (timeline != 0) + branch;
  if (store_dir.empty() || mountpoint.empty() || sources != 1) {
    Usage();
    return 2;
  }
  if (options.read_lsn != rwd::store::kLatestLsn && !options.read_only) {
    std::fprintf(stderr, "rewind-mount: --lsn needs --ro\n");
    return 2;
  }
  if (branch && options.read_only) {
    std::fprintf(stderr, "rewind-mount: --branch mounts read-write\n");
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
  sigaddset(&sigs, SIGUSR1);
  pthread_sigmask(SIG_BLOCK, &sigs, nullptr);

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
  } else if (branch) {
    auto b = (*store)->Branch(rwd::store::TimelineId(branch_of), rwd::store::Lsn(branch_lsn));
    if (!b.ok()) {
      return Fail("branch of timeline " + std::to_string(branch_of) + " at lsn " +
                      std::to_string(branch_lsn),
                  b.status());
    }
    tl = *b;
  }

  Mounts mounts(store->get(), options);
  {
    auto mount = rwd::fs::Mount::Start(store->get(), tl, mountpoint, options);
    if (!mount.ok()) return Fail("mount", mount.status());
    std::fprintf(stderr, "rewind-mount: timeline %s %s at %s%s\n", tl.ToString().c_str(),
                 options.read_only ? "read-only" : "read-write", mountpoint.c_str(),
                 options.read_only ? (" (lsn " + (*mount)->lsn().ToString() + ")").c_str() : "");
    mounts.SetMain(std::move(*mount));
  }
  Say("timeline " + std::to_string(tl.value));

  // The control FIFO: opened read-write so that it never reports EOF (writers come and go),
  // and so that this process can wake its reader with "quit" at exit.
  int control_fd = -1;
  std::thread control_thread;
  if (!control.empty()) {
    if (mkfifo(control.c_str(), 0600) != 0 && errno != EEXIST) {
      const int err = errno;
      mounts.StopAll();
      return Fail("control fifo " + control, rwd::Status::FromErrno(err, "mkfifo"));
    }
    control_fd = open(control.c_str(), O_RDWR | O_CLOEXEC);
    if (control_fd < 0) {
      const int err = errno;
      mounts.StopAll();
      return Fail("control fifo " + control, rwd::Status::FromErrno(err, "open"));
    }
    control_thread = std::thread([&mounts, control_fd] {
      std::string pending;
      char buf[512];
      while (true) {
        ssize_t n = read(control_fd, buf, sizeof(buf));
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return;
        pending.append(buf, static_cast<size_t>(n));
        size_t nl;
        while ((nl = pending.find('\n')) != std::string::npos) {
          std::string line = pending.substr(0, nl);
          pending.erase(0, nl + 1);
          if (line == "\x01quit") return;
          if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
          Say(mounts.Command(line));
        }
      }
    });
  }

  int sig = 0;
  while (true) {
    sigwait(&sigs, &sig);
    if (sig != SIGUSR1) break;
    const uint64_t lsn = (*store)->LastLsn().value;
    std::fprintf(stderr, "rewind-mount: last lsn %llu\n", (unsigned long long)lsn);
    Say("lsn " + std::to_string(lsn));
  }
  std::fprintf(stderr, "rewind-mount: %s, unmounting\n", strsignal(sig));
  if (control_thread.joinable()) {
    (void)!write(control_fd, "\x01quit\n", 6);
    control_thread.join();
    close(control_fd);
  }
  int rc = mounts.StopAll() ? 0 : 1;
  rwd::Status sync = (*store)->Sync();
  if (!sync.ok()) {
    Fail("sync", sync);
    rc = 1;
  }
  rwd::store::StoreStats ss = (*store)->stats();
  std::fprintf(stderr,
               "rewind-mount: store: last lsn %llu, %llu records, %llu log bytes, %u segments, "
               "%llu device syncs for %llu sync requests\n",
               (unsigned long long)ss.last_lsn.value, (unsigned long long)ss.records,
               (unsigned long long)ss.log_bytes, ss.segments,
               (unsigned long long)ss.device_syncs, (unsigned long long)ss.sync_requests);
  store->reset();
  return rc;
}
