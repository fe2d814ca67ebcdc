// InodeTable: the kernel's lookup count of every inode it knows, as in libfuse's
// example/passthrough_hp.cc. A reply that hands the kernel an inode (lookup, create, mkdir,
// mknod, symlink) adds one; FORGET / BATCH_FORGET subtract what the kernel says. An inode
// with count 0 is unknown to the kernel; an unlinked one (nlink 0) is then dead for this
// mount. The root is never counted (the kernel holds it for the mount's life).
//
// Thread safety: all methods may be called concurrently. Lock order: mu_ is a leaf lock; no
// other lock is taken and no store or FUSE call is made while it is held.
#pragma once

#include <cstdint>
#include <mutex>
#include <unordered_map>
#include <vector>

namespace rwd::fs {

class InodeTable {
 public:
  // Adds n to ino's count.
  void Ref(uint64_t ino, uint64_t n = 1);
  // Subtracts n from ino's count and drops the entry at 0. Returns false (and counts a
  // mismatch, clamping at 0) when ino is unknown or n exceeds its count: a kernel/filesystem
  // disagreement, never expected.
  bool Forget(uint64_t ino, uint64_t n);

  uint64_t Count(uint64_t ino) const;
  // Inodes with a count > 0.
  uint64_t size() const;
  // Their numbers, in no order.
  std::vector<uint64_t> Known() const;
  uint64_t mismatches() const;

 private:
  mutable std::mutex mu_;
  std::unordered_map<uint64_t, uint64_t> counts_;  // guarded by mu_
  uint64_t mismatches_ = 0;                        // guarded by mu_
};

}  // namespace rwd::fs
