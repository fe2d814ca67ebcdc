// WriteGate: lets something outside the store hold writes back (rewindd's local-buffer policy
// with an object store: objstore::BacklogGate, docs/format/object-store.md "The local buffer").
// Injected through StoreOptions::write_gate; the store depends only on this interface.
//
// Store::Write calls Admit() first, before it takes any lock of the store, so a gate that waits
// stops new data from entering the log without stopping readers, syncs, checkpoints or the
// threads that make room (the shipper and eviction). Admit returns Ok to let the write in, or an
// error that fails the write (nothing is appended).
//
// Thread safety: Admit is called from every writing thread, concurrently.
#pragma once

#include "common/status.h"

namespace rwd::store {

class WriteGate {
 public:
  virtual ~WriteGate() = default;
  virtual Status Admit() = 0;
};

}  // namespace rwd::store
