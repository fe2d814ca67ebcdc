#include "fs/inode_table.h"

namespace rwd::fs {

void InodeTable::Ref(uint64_t ino, uint64_t n) {
  if (n == 0) return;
  std::lock_guard<std::mutex> lock(mu_);
  counts_[ino] += n;
}

bool InodeTable::Forget(uint64_t ino, uint64_t n) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = counts_.find(ino);
  if (it == counts_.end()) {
    ++mismatches_;
    return false;
  }
  if (n > it->second) {
    ++mismatches_;
    counts_.erase(it);
    return false;
  }
  it->second -= n;
  if (it->second == 0) counts_.erase(it);
  return true;
}

uint64_t InodeTable::Count(uint64_t ino) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = counts_.find(ino);
  return it == counts_.end() ? 0 : it->second;
}

std::vector<uint64_t> InodeTable::Known() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<uint64_t> out;
  out.reserve(counts_.size());
  for (const auto& [ino, n] : counts_) out.push_back(ino);
  return out;
}

uint64_t InodeTable::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return counts_.size();
}

uint64_t InodeTable::mismatches() const {
  std::lock_guard<std::mutex> lock(mu_);
  return mismatches_;
}

}  // namespace rwd::fs
