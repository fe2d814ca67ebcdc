#include "objstore/restore.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>

#include "objstore/cold_tier.h"
#include "objstore/segment_uploader.h"

namespace rwd::objstore {
namespace {

// Writes `data` to `path` (mode 0600), synced; refuses to replace a file.
Status WriteNewFile(const std::string& path, std::string_view data) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return Status::FromErrno(errno, "create " + path);
  size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      Status s = Status::FromErrno(errno, "write " + path);
      ::close(fd);
      return s;
    }
    done += static_cast<size_t>(n);
  }
  Status s = ::fsync(fd) == 0 ? Status::Ok() : Status::FromErrno(errno, "fsync " + path);
  ::close(fd);
  return s;
}

bool Digits(std::string_view s) {
  return !s.empty() && s.find_first_not_of("0123456789") == std::string_view::npos;
}

}  // namespace

Result<RestoreReport> RestoreFromBucket(S3Client* client, const std::string& data_dir,
                                        const RestoreOptions& options) {
  namespace fs = std::filesystem;
  const std::string store_dir = data_dir + "/store", log_dir = store_dir + "/log";
  std::error_code ec;
  if (fs::exists(data_dir + "/meta.db", ec)) {
    return Status::FailedPrecondition(data_dir + " already holds a meta.db: restore needs a new "
                                      "data dir (nothing was changed)");
  }
  if (fs::exists(log_dir, ec) && !fs::is_empty(log_dir, ec)) {
    return Status::FailedPrecondition(log_dir + " is not empty: restore needs a new data dir "
                                      "(nothing was changed)");
  }

  // The store whose HEAD is newest (ISO 8601 times sort as text).
  ASSIGN_OR_RETURN(std::vector<ObjectInfo> all,
                   client->ListAll(options.store_id.empty() ? "rewind/v1/stores/"
                                                            : StoreRootName(options.store_id)));
  const ObjectInfo* newest = nullptr;
  for (const ObjectInfo& o : all) {
    if (o.key.size() > 5 && o.key.compare(o.key.size() - 5, 5, "/HEAD") == 0 &&
        (options.store_id.empty() || o.key == StoreRootName(options.store_id) + "HEAD") &&
        (newest == nullptr || o.last_modified > newest->last_modified)) {
      newest = &o;
    }
  }
  if (newest == nullptr) {
    return Status::NotFound("no store " + options.store_id +
                            " in the bucket (no rewind/v1/stores/" +
                            (options.store_id.empty() ? "*" : options.store_id) +
                            "/HEAD below s3://" + client->config().bucket + "/" +
                            client->config().prefix + ")");
  }
  RestoreReport report;
  report.store_id = newest->key.substr(17, newest->key.size() - 17 - 5);
  const std::string root = StoreRootName(report.store_id);
  ASSIGN_OR_RETURN(std::string head_text, client->Get(newest->key));
  nlohmann::json head = nlohmann::json::parse(head_text, nullptr, /*allow_exceptions=*/false);
  if (!head.is_object() || !head["lsn"].is_number_unsigned() ||
      !head["segment"].is_number_unsigned() || !head["offset"].is_number_unsigned()) {
    return Status::Corruption(newest->key + " is not a layout-1 HEAD: " + head_text);
  }
  report.lsn = head["lsn"].get<uint64_t>();
  const uint32_t head_segment = head["segment"].get<uint32_t>();
  const uint64_t head_offset = head["offset"].get<uint64_t>();

  fs::create_directories(log_dir, ec);
  if (ec) return Status::IOError("create " + log_dir + ": " + ec.message());
  // Segments: log/SSSSSSSS-FFFFFFFFFF.seg, local name SSSSSSSS.seg or SSSSSSSS-FFFFFFFFFF.seg.
  bool head_segment_whole = false;
  // A view reads only the files HEAD's checkpoint names below its position (and every file
  // after it): the others are what the peer's collector may be deleting right now.
  std::map<uint32_t, uint32_t> named;
  uint32_t named_below = 0;
  if (head["checkpoint"].is_string()) {
    ASSIGN_OR_RETURN(std::string bytes, client->Get(head["checkpoint"].get<std::string>()));
    Result<CheckpointSummary> c = ParseCheckpoint(bytes);
    if (!c.ok()) return c.status().WithContext(head["checkpoint"].get<std::string>());
    named.insert(c->segment_files.begin(), c->segment_files.end());
    named_below = c->segment;
    // Every file it names below its position went up before it: one missing is history the
    // bucket lost (the store would rebuild its index without it and read stale pages).
    for (const auto& [seg, fid] : c->segment_files) {
      if (seg >= named_below) continue;
      const std::string key = SegmentObjectName(report.store_id, seg, fid);
      if (std::none_of(all.begin(), all.end(),
                       [&key](const ObjectInfo& o) { return o.key == key; })) {
        return Status::Corruption(head["checkpoint"].get<std::string>() + " names " + key +
                                  ", which is not in the bucket: that history is lost (no "
                                  "segment restored)");
      }
    }
  }
  for (const ObjectInfo& o : all) {
    if (o.key.compare(0, root.size() + 4, root + "log/") != 0) continue;
    const std::string name = o.key.substr(root.size() + 4);
    if (name.size() != 23 || name[8] != '-' || name.substr(19) != ".seg" ||
        !Digits(name.substr(0, 8)) || !Digits(name.substr(9, 10))) {
      continue;
    }
    const uint32_t seg = static_cast<uint32_t>(std::stoul(name.substr(0, 8)));
    const uint64_t fid = std::stoull(name.substr(9, 10));
    if (seg > head_segment) continue;  // after HEAD: not consistent with the tail cut below
    if (seg == head_segment) head_segment_whole = true;
    const std::string local = fid == seg ? name.substr(0, 8) + ".seg" : name;
    if (options.cold_history && seg < named_below && named.count(seg) && named[seg] != fid) {
      continue;
    }
    report.segment_files.emplace_back(seg, static_cast<uint32_t>(fid));
    if (options.cold_history && seg < head_segment) {
      ASSIGN_OR_RETURN(store::ColdFile crcs,
                       FetchSegmentCrcs(client, report.store_id, seg, static_cast<uint32_t>(fid)));
      const std::string marker = store::EncodeColdMarker(crcs);
      RETURN_IF_ERROR(
          WriteNewFile(log_dir + "/" + local.substr(0, local.size() - 4) + ".cold", marker));
      report.files++;
      report.bytes += marker.size();
      continue;
    }
    ASSIGN_OR_RETURN(std::string bytes, client->Get(o.key));
    RETURN_IF_ERROR(WriteNewFile(log_dir + "/" + local, bytes));
    report.files++;
    report.bytes += bytes.size();
  }
  if (!head_segment_whole && head_offset > 0) {
    // The active segment at HEAD: its tail chunks, contiguous from 0, cut at HEAD's offset.
    char seg_name[16];
    std::snprintf(seg_name, sizeof seg_name, "%08" PRIu32, head_segment);
    const std::string prefix = root + "tail/" + seg_name + "/";
    std::map<uint64_t, std::pair<uint64_t, std::string>> chunks;  // from -> (to, key)
    for (const ObjectInfo& o : all) {
      if (o.key.compare(0, prefix.size(), prefix) != 0 || o.key.size() != prefix.size() + 25) {
        continue;
      }
      const std::string r = o.key.substr(prefix.size());
      if (r[12] != '-' || !Digits(r.substr(0, 12)) || !Digits(r.substr(13))) continue;
      chunks[std::stoull(r.substr(0, 12))] = {std::stoull(r.substr(13)), o.key};
    }
    std::string bytes;
    for (auto it = chunks.find(0); it != chunks.end() && bytes.size() < head_offset;
         it = chunks.find(bytes.size())) {
      ASSIGN_OR_RETURN(std::string chunk, client->Get(it->second.second));
      if (chunk.size() != it->second.first - it->first) {
        return Status::Corruption(it->second.second + " holds " + std::to_string(chunk.size()) +
                                  " bytes, not what its name says");
      }
      bytes += chunk;
    }
    if (bytes.size() < head_offset) {
      return Status::Corruption("the tail chunks of segment " + std::string(seg_name) +
                                " end at " + std::to_string(bytes.size()) + ", before HEAD's " +
                                std::to_string(head_offset));
    }
    bytes.resize(head_offset);
    RETURN_IF_ERROR(WriteNewFile(log_dir + "/" + seg_name + ".seg", bytes));
    report.files++;
    report.bytes += bytes.size();
  }
  if (head["checkpoint"].is_string()) {
    ASSIGN_OR_RETURN(std::string bytes, client->Get(head["checkpoint"].get<std::string>()));
    RETURN_IF_ERROR(WriteNewFile(store_dir + "/index.ckpt", bytes));
    report.checkpoint = true;
    report.checkpoint_name = head["checkpoint"].get<std::string>();
    report.bytes += bytes.size();
  }
  if (head["meta"].is_string()) {
    ASSIGN_OR_RETURN(std::string bytes, client->Get(head["meta"].get<std::string>()));
    RETURN_IF_ERROR(WriteNewFile(data_dir + "/meta.db", bytes));
    report.meta = true;
    report.meta_name = head["meta"].get<std::string>();
    report.bytes += bytes.size();
    const std::string meta_name = head["meta"].get<std::string>();
    const nlohmann::json& files = head["meta_files"];
    for (size_t i = 0; options.aux_files && files.is_array() && i < files.size(); ++i) {
      if (!files[i].is_string()) return Status::Corruption("HEAD's meta_files: " + head_text);
      const std::string rel = files[i].get<std::string>();
      if (rel.empty() || rel[0] == '/' || rel.find("..") != std::string::npos) {
        return Status::Corruption("HEAD names a file outside the data dir: " + rel);
      }
      ASSIGN_OR_RETURN(std::string aux, client->Get(meta_name.substr(0, meta_name.size() - 3) +
                                                    ".files/" + rel));
      const fs::path path = fs::path(data_dir) / rel;
      fs::create_directories(path.parent_path(), ec);
      if (ec) return Status::IOError("create " + path.parent_path().string() + ": " + ec.message());
      ::chmod(path.parent_path().c_str(), 0700);
      RETURN_IF_ERROR(WriteNewFile(path.string(), aux));
      report.bytes += aux.size();
    }
  }
  return report;
}

}  // namespace rwd::objstore
