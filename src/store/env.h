// Env: the store's seam to the operating system (files and clock), after LevelDB's Env, so that
// tests can inject faults (drop unsynced data, fail a sync, fill the disk) and simulate crashes.
// Env::Default() is thread-safe; file objects are safe for concurrent ReadAt, and one writer.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace rwd::store {

// A file written only at its end (its logical end: see Env::OpenAppendAt).
class AppendFile {
 public:
  virtual ~AppendFile() = default;
  // Appends all of data or fails (a short write is an error, and what was written may stay).
  virtual Status Append(std::string_view data) = 0;
  // Appends head then body, as one Append of both would (one system call where the platform
  // can): lets a caller write a record's header and its caller-owned data without a copy.
  virtual Status Append(std::string_view head, std::string_view body) {
    RETURN_IF_ERROR(Append(head));
    return Append(body);
  }
  // Makes everything appended so far durable (fdatasync).
  virtual Status Sync() = 0;
  // The logical size: where the next append goes.
  virtual uint64_t Size() const = 0;
  // A hint: starts writing bytes [offset, offset + len) to the device without waiting, so that
  // a later Sync() has less left to do. Promises nothing about durability; may do nothing.
  virtual void StartWriteback(uint64_t offset, uint64_t len) {
    (void)offset;
    (void)len;
  }
};

// A file read at any offset, concurrently.
class ReadFile {
 public:
  virtual ~ReadFile() = default;
  // Reads up to n bytes at offset into out; returns the count (short only at EOF).
  virtual Result<size_t> ReadAt(uint64_t offset, size_t n, char* out) const = 0;
};

// Files and directories the POSIX Env creates are private to their owner: files 0600,
// directories 0700, whatever the umask; OpenAppend, OpenAppendAt, CreateFilled and CreateDir
// also give those modes to what existed with others (OpenRead does so when it can).
class Env {
 public:
  virtual ~Env() = default;
  // Opens for appending, creating the file if missing; appends go after the existing bytes.
  virtual Result<std::unique_ptr<AppendFile>> OpenAppend(const std::string& path) = 0;
  // Opens an existing file for appending at byte `offset` (its logical end): appends overwrite
  // whatever lies from there on, and Size() counts from `offset`. Bytes past the logical end are
  // neither read nor removed (a preallocated file keeps its zeros there). The default truncates
  // the file to `offset` and calls OpenAppend, which has the same observable effect on appends.
  virtual Result<std::unique_ptr<AppendFile>> OpenAppendAt(const std::string& path,
                                                           uint64_t offset);
  // Creates (or replaces) `path` holding `head` followed by zeros up to `size` bytes, every byte
  // written and durable (fdatasync), so that later appends inside it change no file metadata:
  // a device sync then needs no filesystem journal commit. The default appends through
  // OpenAppend in 1 MiB pieces and syncs.
  virtual Status CreateFilled(const std::string& path, std::string_view head, uint64_t size);
  virtual Result<std::unique_ptr<ReadFile>> OpenRead(const std::string& path) = 0;
  virtual Result<std::vector<std::string>> ListDir(const std::string& dir) = 0;  // names only
  virtual Status CreateDir(const std::string& dir) = 0;  // OK if it exists
  virtual Status SyncDir(const std::string& dir) = 0;
  virtual Status RemoveFile(const std::string& path) = 0;
  virtual Status RenameFile(const std::string& from, const std::string& to) = 0;
  virtual Status Truncate(const std::string& path, uint64_t size) = 0;
  virtual Result<uint64_t> FileSize(const std::string& path) = 0;
  virtual bool FileExists(const std::string& path) = 0;
  // Wall-clock time, ns since the Unix epoch. May step back; the store copes.
  virtual int64_t NowNs() = 0;

  // The process-wide POSIX Env. Never deleted.
  static Env* Default();
};

// Reads a whole (small) file.
Result<std::string> ReadWholeFile(Env* env, const std::string& path);
// Writes a small file atomically and durably: temp file, sync, rename, sync dir.
Status WriteFileAtomic(Env* env, const std::string& path, std::string_view data);

}  // namespace rwd::store
