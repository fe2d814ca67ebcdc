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
// Thread safety: a pure function.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "objstore/segment_uploader.h"

namespace rwd::objstore {

// keys: a listing of StoreRootName(store_id) (keys relative to the client's prefix).
// checkpoint: HEAD's checkpoint (parsed) and its object name; meta_name: HEAD's meta copy
// (empty: none, then no meta copy is obsolete). Returns the obsolete keys, in listing order.
std::vector<std::string> ObsoleteObjects(std::string_view store_id,
                                         const std::vector<std::string>& keys,
                                         const CheckpointSummary& checkpoint,
                                         std::string_view checkpoint_name,
                                         std::string_view meta_name);

}  // namespace rwd::objstore
