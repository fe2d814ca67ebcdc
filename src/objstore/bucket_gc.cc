#include "objstore/bucket_gc.h"

#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>

namespace rwd::objstore {

std::string PinObjectName(std::string_view pinned_store, std::string_view pinning_store,
                          std::string_view clone) {
  return StoreRootName(pinned_store) + "pins/" + std::string(pinning_store) + "-" +
         std::string(clone) + ".json";
}

std::string PinBody(std::string_view pinned_store, std::string_view pinning_store,
                    std::string_view clone, int64_t created_ns, uint64_t view_lsn,
                    std::string_view checkpoint_name, std::string_view meta_name,
                    const std::vector<std::pair<uint32_t, uint32_t>>& files) {
  auto name_or_null = [](std::string_view n) {
    return n.empty() ? nlohmann::json(nullptr) : nlohmann::json(std::string(n));
  };
  nlohmann::json j = {{"layout", 1},
                      {"store_id", std::string(pinned_store)},
                      {"pinned_by", std::string(pinning_store)},
                      {"clone", std::string(clone)},
                      {"created_ns", created_ns},
                      {"view_lsn", view_lsn},
                      {"checkpoint", name_or_null(checkpoint_name)},
                      {"meta", name_or_null(meta_name)},
                      {"files", files}};
  return j.dump() + "\n";
}

Status AddPin(std::string_view store_id, std::string_view body, BucketPins* pins) {
  const nlohmann::json j = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  auto bad = [&](const char* why) {
    return Status::Corruption(std::string("not a pin of store ") + std::string(store_id) + " (" +
                              why + "): " + std::string(body.substr(0, 200)));
  };
  if (!j.is_object() || j.value("layout", 0) != 1) return bad("layout");
  if (!j["store_id"].is_string() || j["store_id"].get<std::string>() != store_id) {
    return bad("store_id");
  }
  if (!j["files"].is_array() || !j["created_ns"].is_number_integer()) return bad("fields");
  BucketPins add;
  for (const auto& f : j["files"]) {
    if (!f.is_array() || f.size() != 2 || !f[0].is_number_unsigned() ||
        !f[1].is_number_unsigned()) {
      return bad("files");
    }
    add.segment_files.emplace(f[0].get<uint32_t>(), f[1].get<uint32_t>());
  }
  for (const char* k : {"checkpoint", "meta"}) {
    if (j[k].is_string()) {
      add.objects.insert(j[k].get<std::string>());
    } else if (!j[k].is_null()) {
      return bad(k);
    }
  }
  pins->segment_files.merge(add.segment_files);
  pins->objects.merge(add.objects);
  const int64_t created = j["created_ns"].get<int64_t>();
  if (pins->count == 0 || created < pins->oldest_created_ns) pins->oldest_created_ns = created;
  ++pins->count;
  return Status::Ok();
}

std::vector<std::string> ObsoleteObjects(std::string_view store_id,
                                         const std::vector<std::string>& keys,
                                         const CheckpointSummary& checkpoint,
                                         std::string_view checkpoint_name,
                                         std::string_view meta_name, const BucketPins& pins) {
  const std::string root = StoreRootName(store_id);
  std::map<uint32_t, uint32_t> named(checkpoint.segment_files.begin(),
                                     checkpoint.segment_files.end());
  // A meta copy is meta/L-T.db with its files under meta/L-T.files/: compared by "meta/L-T".
  auto meta_base = [](std::string_view rel) {
    const size_t dot = rel.find('.');
    return rel.substr(0, dot);
  };
  const std::string_view head_meta =
      meta_name.size() > root.size() ? meta_base(meta_name.substr(root.size())) : "";
  std::vector<std::string> out;
  for (const std::string& key : keys) {
    if (key.compare(0, root.size(), root) != 0) continue;
    const std::string_view rel = std::string_view(key).substr(root.size());
    if (rel.substr(0, 4) == "log/") {
      unsigned seg = 0, id = 0;
      char tail[8] = {0};
      // A segment object and its block checksums (.crcs) go together.
      if ((rel.size() != 27 && rel.size() != 28) ||
          std::sscanf(std::string(rel).c_str(), "log/%8u-%10u.%4s", &seg, &id, tail) != 3 ||
          std::string_view(tail) != (rel.size() == 27 ? "seg" : "crcs")) {
        continue;  // not a name of this layout: never touched
      }
      // Only a file older than the one named: file ids grow (a first-written file's id is its
      // segment, each rewrite's is above 2^31 and above every earlier one), and a newer rewrite
      // is what the next checkpoint names. It is up before that checkpoint goes up, and the
      // uploader never sends a name twice: deleting it now would leave that checkpoint naming
      // a file the bucket lacks, and the segment gone once the older file goes too.
      auto it = named.find(seg);
      if (seg < checkpoint.segment && it != named.end() && id < it->second &&
          !pins.segment_files.count({seg, id})) {
        out.push_back(key);
      }
    } else if (rel.substr(0, 5) == "ckpt/") {
      if (key.size() == checkpoint_name.size() && key < checkpoint_name &&
          !pins.objects.count(key)) {
        out.push_back(key);
      }
    } else if (rel.substr(0, 5) == "meta/" && !head_meta.empty()) {
      const std::string_view base = meta_base(rel);
      const std::string pinned_db = root + std::string(base) + ".db";
      if (base.size() == head_meta.size() && base < head_meta && !pins.objects.count(pinned_db)) {
        out.push_back(key);
      }
    }
  }
  return out;
}

}  // namespace rwd::objstore
