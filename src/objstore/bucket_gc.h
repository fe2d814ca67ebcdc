// The cleaner across tiers, bucket side: which of a store's objects nothing can read any more
// (layout v1, docs/format/object-store.md, "Deletion"). Pure: the caller lists and deletes.
//
// The store's cleaner decides what history is reachable (every volume's window, snapshots,
// clone branch points: Store::Clean) and rewrites a mostly-dead segment into a new file; once
// a checkpoint naming the new file is in the bucket and HEAD points at it, the old file's object
// is wholly unreachable: no restore (which reads HEAD's checkpoint) and no reader of the store
// (which follows the same choice) reads it. The same HEAD makes older checkpoints and meta
// copies unreachable. Nothing else is ever obsolete: segment objects at or after the
// checkpoint's position, the file the checkpoint names for each segment, HEAD, store.json,
// newer checkpoints and meta copies (not in HEAD yet), tail chunks (the shipper's own rule).
//
// Pins: another node that clones this store's history (a peer's view, peer_view.h) writes
// rewind/v1/stores/ID/pins/ID2-CLONE.json naming the checkpoint, meta copy and every segment
// file its view reads; all of them stay, whatever HEAD says, until the pin is deleted.
// Thread safety: pure functions.
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "objstore/segment_uploader.h"

namespace rwd::objstore {

// What the pins on a store keep (AddPin for each pin object).
struct BucketPins {
  std::set<std::pair<uint32_t, uint32_t>> segment_files;  // (segment, file id), .seg and .crcs
  std::set<std::string> objects;  // checkpoint and meta copy names (a meta copy with its files)
  uint64_t count = 0;
  int64_t oldest_created_ns = 0;  // of the oldest pin (0: none)
};

// rewind/v1/stores/PINNED/pins/PINNING-CLONE.json. CLONE: a cluster identifier (letters,
// digits, '-').
std::string PinObjectName(std::string_view pinned_store, std::string_view pinning_store,
                          std::string_view clone);
// The body of a pin: {"layout":1,"store_id":PINNED,"pinned_by":PINNING,"clone":CLONE,
// "created_ns":T,"view_lsn":L,"checkpoint":NAME|null,"meta":NAME|null,"files":[[S,F],...]}.
std::string PinBody(std::string_view pinned_store, std::string_view pinning_store,
                    std::string_view clone, int64_t created_ns, uint64_t view_lsn,
                    std::string_view checkpoint_name, std::string_view meta_name,
                    const std::vector<std::pair<uint32_t, uint32_t>>& files);
// Adds what one pin object keeps. kCorruption for a body that is not a pin of `store_id` (the
// collector then deletes nothing: a pin it cannot read might keep anything).
Status AddPin(std::string_view store_id, std::string_view body, BucketPins* pins);

// keys: a listing of StoreRootName(store_id) (keys relative to the client's prefix).
// checkpoint: HEAD's checkpoint (parsed) and its object name; meta_name: HEAD's meta copy
// (empty: none, then no meta copy is obsolete); pins: what other nodes' pins keep. Returns
// the obsolete keys, in listing order. A segment file goes only when it is older (a lower
// file id) than the one the checkpoint names for its segment, below the checkpoint's position:
// a newer rewrite is what a later checkpoint will name.
std::vector<std::string> ObsoleteObjects(std::string_view store_id,
                                         const std::vector<std::string>& keys,
                                         const CheckpointSummary& checkpoint,
                                         std::string_view checkpoint_name,
                                         std::string_view meta_name,
                                         const BucketPins& pins = {});

}  // namespace rwd::objstore
