#include "objstore/bucket_gc.h"

#include <cstdio>
#include <map>

namespace rwd::objstore {

std::vector<std::string> ObsoleteObjects(std::string_view store_id,
                                         const std::vector<std::string>& keys,
                                         const CheckpointSummary& checkpoint,
                                         std::string_view checkpoint_name,
                                         std::string_view meta_name) {
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
      auto it = named.find(seg);
      if (seg < checkpoint.segment && it != named.end() && it->second != id) out.push_back(key);
    } else if (rel.substr(0, 5) == "ckpt/") {
      if (key.size() == checkpoint_name.size() && key < checkpoint_name) out.push_back(key);
    } else if (rel.substr(0, 5) == "meta/" && !head_meta.empty()) {
      const std::string_view base = meta_base(rel);
      if (base.size() == head_meta.size() && base < head_meta) out.push_back(key);
    }
  }
  return out;
}

}  // namespace rwd::objstore
