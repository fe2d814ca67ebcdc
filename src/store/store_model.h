// Test-only: a plain in-memory filesystem that the store's state is checked against, and a
// seeded random workload that drives both. Shared by the model and crash tests.
#pragma once

#include <gtest/gtest.h>

#include <map>
#include <random>
#include <set>
#include <string>

#include "store/store.h"

namespace rwd::store::testing {

struct Model {
  std::map<uint64_t, std::string> files;                     // live files' bytes
  std::map<uint64_t, std::map<std::string, uint64_t>> dirs;  // dir -> name -> inode
  Model() { dirs[kRootInode.value]; }
  bool operator==(const Model&) const = default;
};

// Checks that the store, read at (tl, lsn), holds exactly the model's tree and bytes.
inline ::testing::AssertionResult StoreMatches(const Store& store, TimelineId tl, Lsn lsn,
                                               const Model& m) {
  for (const auto& [dir, names] : m.dirs) {
    auto entries = store.ReadDir(tl, lsn, InodeId(dir));
    if (!entries.ok()) {
      return ::testing::AssertionFailure() << "readdir " << dir << ": "
                                           << entries.status().ToString();
    }
    std::map<std::string, uint64_t> got;
    for (const auto& e : *entries) got[e.name] = e.ino.value;
    if (got != names) {
      return ::testing::AssertionFailure()
             << "dir " << dir << " at lsn " << lsn.value << " has " << got.size()
             << " entries, model " << names.size();
    }
  }
  for (const auto& [ino, bytes] : m.files) {
    auto a = store.GetAttr(tl, lsn, InodeId(ino));
    if (!a.ok()) return ::testing::AssertionFailure() << a.status().ToString();
    if (a->size != bytes.size()) {
      return ::testing::AssertionFailure() << "inode " << ino << " at lsn " << lsn.value
                                           << " size " << a->size << " model " << bytes.size();
    }
    std::string buf(bytes.size() + 10, '?');
    auto n = store.Read(tl, lsn, InodeId(ino), 0, buf.size(), buf.data());
    if (!n.ok()) return ::testing::AssertionFailure() << n.status().ToString();
    buf.resize(*n);
    if (buf != bytes) {
      size_t i = 0;
      while (i < buf.size() && buf[i] == bytes[i]) ++i;
      return ::testing::AssertionFailure() << "inode " << ino << " at lsn " << lsn.value
                                           << " differs from byte " << i;
    }
  }
  return ::testing::AssertionSuccess();
}

// Checks that pin `pin` exists and reads, at its point, exactly as `m`.
inline ::testing::AssertionResult PinMatches(const Store& store, PinId pin, const Model& m) {
  auto p = store.GetPin(pin);
  if (!p.ok()) return ::testing::AssertionFailure() << "pin " << pin.value << ": "
                                                    << p.status().ToString();
  return StoreMatches(store, p->point.timeline, p->point.lsn, m);
}

// Applies one random operation to both the store (timeline tl) and the model. Returns false if
// the store refused an operation the model accepted (or the reverse).
class RandomWorkload {
 public:
  explicit RandomWorkload(uint64_t seed) : rng_(seed) {}
  std::mt19937_64& rng() { return rng_; }

  ::testing::AssertionResult Step(Store& store, TimelineId tl, Model& m) {
    const int op = Pick(100);
    if (op < 55 || m.files.empty()) {
      if (m.files.empty() || op < 8) return CreateFile(store, tl, m);
      return Write(store, tl, m);
    }
    if (op < 65) return Truncate(store, tl, m);
    if (op < 75) return Unlink(store, tl, m);
    if (op < 85) return Rename(store, tl, m);
    if (op < 92) return Mkdir(store, tl, m);
    return Rmdir(store, tl, m);
  }

 private:
  uint64_t Pick(uint64_t n) { return rng_() % n; }
  uint64_t AnyDir(const Model& m) {
    auto it = m.dirs.begin();
    std::advance(it, Pick(m.dirs.size()));
    return it->first;
  }
  uint64_t AnyFile(const Model& m) {
    auto it = m.files.begin();
    std::advance(it, Pick(m.files.size()));
    return it->first;
  }
  std::string AnyName() { return "n" + std::to_string(Pick(12)); }
  static ::testing::AssertionResult Fail(const Status& s, const char* what) {
    return ::testing::AssertionFailure() << what << ": " << s.ToString();
  }

  ::testing::AssertionResult CreateFile(Store& store, TimelineId tl, Model& m) {
    uint64_t dir = AnyDir(m);
    std::string name = AnyName();
    auto r = store.Create(tl, InodeId(dir), name, NodeType::kFile, 0644);
    if (m.dirs[dir].count(name)) {
      if (r.status().code() != Status::Code::kAlreadyExists) return Fail(r.status(), "create dup");
      return ::testing::AssertionSuccess();
    }
    if (!r.ok()) return Fail(r.status(), "create");
    m.dirs[dir][name] = r->ino.value;
    m.files[r->ino.value] = "";
    return ::testing::AssertionSuccess();
  }

  ::testing::AssertionResult Write(Store& store, TimelineId tl, Model& m) {
    uint64_t ino = AnyFile(m);
    uint64_t off = Pick(60000);
    size_t len = 1 + Pick(Pick(4) == 0 ? 20000 : 600);
    // Whole pages go to the segment's data file: exercise that path as often as the other.
    if (Pick(2) == 0) {
      len = 4096 * (1 + Pick(4));
      if (Pick(2) == 0) off = off / 4096 * 4096;
    }
    // A mix of what compression meets: letters (compress to ~60 %), random bytes (do not:
    // stored raw), and runs (compress well); a write of several pages mixes them per page.
    std::string data(len, '\0');
    const int style = static_cast<int>(Pick(3));
    for (size_t i = 0; i < len; ++i) {
      const int st = (i / 4096) % 2 == 0 ? style : (style + 1) % 3;
      if (st == 0) {
        data[i] = static_cast<char>('A' + Pick(26));
      } else if (st == 1) {
        data[i] = static_cast<char>(rng_());
      } else {
        data[i] = i % 64 < 60 ? static_cast<char>('a' + (i / 64) % 26) : static_cast<char>(rng_());
      }
    }
    auto r = store.Write(tl, InodeId(ino), off, data);
    if (!r.ok()) return Fail(r.status(), "write");
    std::string& f = m.files[ino];
    if (f.size() < off + len) f.resize(off + len, '\0');
    f.replace(off, len, data);
    return ::testing::AssertionSuccess();
  }

  ::testing::AssertionResult Truncate(Store& store, TimelineId tl, Model& m) {
    uint64_t ino = AnyFile(m);
    SetAttrRequest req;
    req.size = Pick(70000);
    auto r = store.SetAttr(tl, InodeId(ino), req);
    if (!r.ok()) return Fail(r.status(), "truncate");
    m.files[ino].resize(*req.size, '\0');
    return ::testing::AssertionSuccess();
  }

  // Finds a (dir, name) holding a file.
  bool AnyFileEntry(const Model& m, uint64_t* dir, std::string* name) {
    std::vector<std::pair<uint64_t, std::string>> all;
    for (const auto& [d, names] : m.dirs)
      for (const auto& [n, ino] : names)
        if (m.files.count(ino)) all.emplace_back(d, n);
    if (all.empty()) return false;
    auto& e = all[Pick(all.size())];
    *dir = e.first;
    *name = e.second;
    return true;
  }

  ::testing::AssertionResult Unlink(Store& store, TimelineId tl, Model& m) {
    uint64_t dir;
    std::string name;
    if (!AnyFileEntry(m, &dir, &name)) return ::testing::AssertionSuccess();
    auto r = store.Unlink(tl, InodeId(dir), name);
    if (!r.ok()) return Fail(r.status(), "unlink");
    m.files.erase(m.dirs[dir][name]);
    m.dirs[dir].erase(name);
    return ::testing::AssertionSuccess();
  }

  ::testing::AssertionResult Rename(Store& store, TimelineId tl, Model& m) {
    uint64_t dir;
    std::string name;
    if (!AnyFileEntry(m, &dir, &name)) return ::testing::AssertionSuccess();
    uint64_t to_dir = AnyDir(m);
    std::string to_name = AnyName();
    auto r = store.Rename(tl, InodeId(dir), name, InodeId(to_dir), to_name);
    uint64_t src = m.dirs[dir][name];
    auto existing = m.dirs[to_dir].find(to_name);
    if (existing != m.dirs[to_dir].end() && m.dirs.count(existing->second)) {
      if (r.status().code() != Status::Code::kIsDirectory) return Fail(r.status(), "rename->dir");
      return ::testing::AssertionSuccess();
    }
    if (!r.ok()) return Fail(r.status(), "rename");
    if (existing != m.dirs[to_dir].end() && existing->second != src) {
      m.files.erase(existing->second);
    }
    m.dirs[dir].erase(name);
    m.dirs[to_dir][to_name] = src;
    return ::testing::AssertionSuccess();
  }

  ::testing::AssertionResult Mkdir(Store& store, TimelineId tl, Model& m) {
    uint64_t dir = AnyDir(m);
    std::string name = AnyName();
    auto r = store.Create(tl, InodeId(dir), name, NodeType::kDirectory, 0755);
    if (m.dirs[dir].count(name)) {
      if (r.status().code() != Status::Code::kAlreadyExists) return Fail(r.status(), "mkdir dup");
      return ::testing::AssertionSuccess();
    }
    if (!r.ok()) return Fail(r.status(), "mkdir");
    m.dirs[dir][name] = r->ino.value;
    m.dirs[r->ino.value];
    return ::testing::AssertionSuccess();
  }

  ::testing::AssertionResult Rmdir(Store& store, TimelineId tl, Model& m) {
    std::vector<std::pair<uint64_t, std::string>> all;
    for (const auto& [d, names] : m.dirs)
      for (const auto& [n, ino] : names)
        if (m.dirs.count(ino)) all.emplace_back(d, n);
    if (all.empty()) return ::testing::AssertionSuccess();
    auto [dir, name] = all[Pick(all.size())];
    uint64_t victim = m.dirs[dir][name];
    auto r = store.Rmdir(tl, InodeId(dir), name);
    if (!m.dirs[victim].empty()) {
      if (r.status().code() != Status::Code::kNotEmpty) return Fail(r.status(), "rmdir full");
      return ::testing::AssertionSuccess();
    }
    if (!r.ok()) return Fail(r.status(), "rmdir");
    m.dirs.erase(victim);
    m.dirs[dir].erase(name);
    return ::testing::AssertionSuccess();
  }

  std::mt19937_64 rng_;
};

}  // namespace rwd::store::testing
