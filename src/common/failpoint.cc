#include "common/failpoint.h"

#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <set>
#include <string>

namespace rwd {
namespace {

const std::set<std::string, std::less<>>& Armed() {
  static const std::set<std::string, std::less<>> armed = [] {
    std::set<std::string, std::less<>> out;
    const char* env = std::getenv("REWIND_FAILPOINTS");
    std::string list = env ? env : "";
    size_t pos = 0;
    while (pos < list.size()) {
      size_t comma = list.find(',', pos);
      if (comma == std::string::npos) comma = list.size();
      if (comma > pos) out.insert(list.substr(pos, comma - pos));
      pos = comma + 1;
    }
    return out;
  }();
  return armed;
}

}  // namespace

bool FailpointArmed(std::string_view name) {
  const auto& armed = Armed();
  return !armed.empty() && armed.count(name) > 0;
}

void Failpoint(std::string_view name) {
  if (!FailpointArmed(name)) return;
  std::fprintf(stderr, "failpoint %.*s: the process dies here\n", static_cast<int>(name.size()),
               name.data());
  std::fflush(stderr);
  ::kill(::getpid(), SIGKILL);
  ::pause();
}

}  // namespace rwd
