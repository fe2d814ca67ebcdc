// Store::Activity: builds a store with 24 hours of synthetic activity (a write every second,
// the clock driven by the test Env, a rewind half way), then times the console's query — the
// whole 24 hours at 1-minute steps — and a 1-hour window at 1-second steps, and reopening the
// store (the summary loaded from the checkpoint).
//   build/bench/activity_bench [--hours N] [--writes-per-second N]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "common/test_util.h"
#include "store/fault_env.h"
#include "store/store.h"

using namespace rwd::store;

namespace {

constexpr int64_t kS = 1'000'000'000;

double Ms(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  int64_t hours = 24;
  int per_second = 1;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--hours")) hours = std::atoll(argv[i + 1]);
    if (!std::strcmp(argv[i], "--writes-per-second")) per_second = std::atoi(argv[i + 1]);
  }
  rwd::testing::TempDir dir;
  FaultInjectionEnv env;
  const int64_t t0 = 1'800'000'000 * kS;
  env.SetClock(t0);
  StoreOptions o;
  o.dir = dir.path();
  o.env = &env;
  auto store = Store::Open(o);
  if (!store.ok()) return std::fprintf(stderr, "%s\n", store.status().ToString().c_str()), 1;
  auto vol = (*store)->CreateVolume("bench");
  auto f = (*store)->Create(vol->head, kRootInode, "f", NodeType::kFile, 0644);
  const std::string page(128, 'x');
  const int64_t seconds = hours * 3600;
  const auto build0 = std::chrono::steady_clock::now();
  for (int64_t s = 0; s < seconds; ++s) {
    if (s == seconds / 2) {
      env.SetClock(t0 + s * kS);
      (void)(*store)->Rewind(vol->id, t0 + (s - 600) * kS);
    }
    for (int k = 0; k < per_second; ++k) {
      env.SetClock(t0 + s * kS + k * (kS / per_second));
      TimelineId head = (*store)->GetVolume(vol->id)->head;
      auto w = (*store)->Write(head, f->ino, static_cast<uint64_t>(s % 1024) * 128, page);
      if (!w.ok()) return std::fprintf(stderr, "%s\n", w.status().ToString().c_str()), 1;
    }
  }
  const double build_ms = Ms(build0);
  const int64_t now = t0 + seconds * kS;
  env.SetClock(now);

  auto time_query = [&](int64_t from, int64_t step, size_t* points) {
    std::vector<double> ms;
    for (int i = 0; i < 51; ++i) {
      const auto q0 = std::chrono::steady_clock::now();
      auto r = (*store)->Activity(vol->id, from, now, step);
      ms.push_back(Ms(q0));
      if (!r.ok()) {
        std::fprintf(stderr, "%s\n", r.status().ToString().c_str());
        std::exit(1);
      }
      *points = r->size();
    }
    return Median(ms);
  };
  size_t n_day = 0, n_hour = 0;
  const double day_ms = time_query(now - std::min<int64_t>(hours, 24) * 3600 * kS, 60 * kS, &n_day);
  const double hour_ms = time_query(now - 3600 * kS, kS, &n_hour);
  (void)(*store)->Checkpoint();
  store->reset();
  const auto open0 = std::chrono::steady_clock::now();
  store = Store::Open(o);
  const double open_ms = Ms(open0);
  if (!store.ok()) return 1;
  size_t n_again = 0;
  const double day_again_ms =
      time_query(now - std::min<int64_t>(hours, 24) * 3600 * kS, 60 * kS, &n_again);
  std::printf("activity_bench: %lld h, %d write(s)/s, %lld records (built in %.0f ms)\n",
              static_cast<long long>(hours), per_second,
              static_cast<long long>(seconds * per_second), build_ms);
  std::printf("| query | points | median ms (51 runs) |\n|---|---|---|\n");
  std::printf("| 24 h at 1 min | %zu | %.3f |\n", n_day, day_ms);
  std::printf("| 1 h at 1 s | %zu | %.3f |\n", n_hour, hour_ms);
  std::printf("| 24 h at 1 min, after reopening (checkpoint) | %zu | %.3f |\n", n_again,
              day_again_ms);
  std::printf("reopen (checkpoint load): %.1f ms\n", open_ms);
  return 0;
}
