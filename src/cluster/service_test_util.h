// What the ClusterService unit tests share: a service over a data dir with the stand-in engine
// (no mariadbd), the statuses it shows, the requests they make, and the clean-up of FUSE mounts
// a killed child left.
#pragma once

#include <gtest/gtest.h>
#include <sys/mount.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "cluster/cluster_service.h"
#include "cluster/cluster_test_util.h"
#include "cluster/meta_db.h"
#include "cluster/op_journal.h"
#include "cluster/stand_in_engine.h"
#include "common/failpoint.h"
#include "common/test_util.h"

namespace rwd::cluster {
// Unnamed: the test's own copies (InstanceStatus here hides the enum of that name, as the tests
// expect).
namespace {

inline int64_t WallNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// A scenario step that must succeed (else abort: the death test then sees no SIGKILL).
inline void must(const Status& s) {
  if (!s.ok()) {
    std::fprintf(stderr, "scenario step failed: %s\n", s.ToString().c_str());
    std::abort();
  }
}

inline Result<std::unique_ptr<ClusterService>> OpenService(const std::string& dir,
                                                           StandInKnobs* knobs,
                                                           uint64_t history_budget_bytes = 0) {
  ServiceOptions o = StandInServiceOptions(dir, knobs, 41300);
  o.history_budget_bytes = history_budget_bytes;
  return ClusterService::Open(o);
}

inline std::string StatusOf(ClusterService& svc, const std::string& id) {
  auto c = svc.DescribeClusters(id);
  return c.ok() ? StatusName(c->front().status) : "absent";
}
inline std::string InstanceStatus(ClusterService& svc, const std::string& id) {
  auto i = svc.DescribeInstances(id, std::nullopt);
  return i.ok() ? StatusName(i->front().status) : "absent";
}

inline CreateClusterRequest CreateC1() {
  CreateClusterRequest r;
  r.id = "c1";
  r.engine = "aurora-mysql";
  r.master_username = "admin";
  r.master_password = "secret-pw-1";
  r.backtrack_window_s = 3600;
  return r;
}

inline CreateInstanceRequest Writer(const std::string& id, const std::string& cluster) {
  CreateInstanceRequest r;
  r.id = id;
  r.cluster_id = cluster;
  r.instance_class = "db.r5.large";
  return r;
}

// Detaches every FUSE mount left under <dir>/mnt (a killed child's), so the directory can go.
inline void DetachMounts(const std::string& dir) {
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(dir + "/mnt", ec)) {
    (void)::umount2(e.path().c_str(), MNT_DETACH);  // EINVAL: not a mount point, as expected
  }
}

// ---- Crash tests (death tests: the child re-runs the calling test) ----

// The data dir of a crash test, the same in the parent and in its death-test child: the parent
// makes it (kept by `own`) and the child finds it in the environment variable `env`.
inline std::string CrashDir(const char* env, const char* failpoint,
                            std::optional<testing::TempDir>* own, const char* prefix) {
  if (const char* given = std::getenv(env)) return given;
  // The parent reads the (empty) failpoint list now, before the environment arms one for the
  // child (a fresh process that reads it at its first failpoint).
  EXPECT_FALSE(FailpointArmed(failpoint));
  own->emplace(prefix);
  return (*own)->path();
}

// Runs `scenario(dir)` in a child with `failpoint` armed and expects the failpoint's SIGKILL.
inline void KillAtFailpoint(const std::string& dir, const char* env, const char* failpoint,
                            const std::function<void(const std::string&)>& scenario) {
  ::setenv(env, dir.c_str(), 1);
  ::setenv("REWIND_FAILPOINTS", failpoint, 1);
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(scenario(dir), ::testing::KilledBySignal(SIGKILL),
              std::string("failpoint ") + failpoint);
  ::unsetenv("REWIND_FAILPOINTS");
  ::unsetenv(env);
}

// Every operation a crash cut short was settled: none of the journal is left running.
inline void ExpectJournalSettled(const std::string& dir) {
  auto meta = MetaDb::Open(dir + "/meta.db");
  ASSERT_TRUE(meta.ok());
  OpJournal journal(meta->get());
  auto open = journal.Unfinished();
  ASSERT_TRUE(open.ok());
  for (const Operation& op : *open) {
    ADD_FAILURE() << OpKindName(op.kind) << " on " << op.target << " still running at step "
                  << OpStepName(op.step);
  }
}

// A failpoint name as a test name ("cluster.stop.unmounted" -> "cluster_stop_unmounted").
inline std::string FailpointTestName(std::string name) {
  for (char& ch : name) {
    if (ch == '.') ch = '_';
  }
  return name;
}

}  // namespace
}  // namespace rwd::cluster
