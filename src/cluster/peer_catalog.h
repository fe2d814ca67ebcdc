// PeerCatalog: what the cluster service needs of the peers (other rewindd nodes sharing the
// bucket; issue 18's second node, docs/format/object-store.md "A second node") to clone one of
// their clusters: read-only views of a peer's store as shipped, each frozen at one HEAD, and
// the pins that keep what a view reads in the peer's bucket prefix.
//
// src/cluster does not depend on src/objstore: rewindd implements this interface over
// objstore::PeerView (src/peer/object_store_peers.h) and hands it to the service
// (ServiceOptions::peers). Tests implement it over a local store::Store.
//
// Views are named by (store id, view LSN): the peer store's id in the bucket and the LSN of the
// HEAD the view was built at. A view, once made, never changes and stays open until the catalog
// is destroyed; its store and meta.db copy are readable from any thread.
//
// Thread safety: every method may be called concurrently from any thread. ViewStore is called
// under the local store's index lock: it never blocks on a build or on I/O.
// Ownership: the catalog owns its views; every PeerViewRef::store stays valid while the catalog
// lives (the service and its store must be destroyed first).
// Errors: kNotFound for an unknown peer name or view; the object store client's codes
// (kUnavailable, kPermissionDenied, kCorruption...) for what the bucket answers.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "store/store.h"

namespace rwd::cluster {

// One open view of a peer's store.
struct PeerViewRef {
  std::string peer;                     // the peer's name (rewindd --peer-object-store NAME=...)
  std::string store_id;                 // the peer store's id (32 hex digits)
  uint64_t view_lsn = 0;                // the HEAD LSN the view was built at: its identity
  const store::Store* store = nullptr;  // the view's store, read-only; owned by the catalog
  std::string meta_path;                // the view's meta.db copy ("" when HEAD named none)
  // The newest moment the view holds: the time of its last record (store->LastTimeNs()).
  int64_t time_ns = 0;
};

class PeerCatalog {
 public:
  virtual ~PeerCatalog() = default;

  // The configured peer names, sorted.
  virtual std::vector<std::string> Names() const = 0;

  // A view of peer `name` that holds moment `at_ns`: the newest open view of the peer's current
  // store if its time_ns >= at_ns (and what it reads is still in the bucket), else a view built
  // now from the peer's HEAD (reused when one of that HEAD is open already). nullopt: the latest, always from the peer's HEAD now.
  // The peer's store is the one whose HEAD in the peer's prefix was written last (never this
  // node's own). The view built may still end before at_ns: the caller checks time_ns.
  // kNotFound: no such peer, or no store in its prefix; the client's errors otherwise
  // (nothing is left behind by a build that failed).
  virtual Result<PeerViewRef> Resolve(const std::string& name,
                                      std::optional<int64_t> at_ns) = 0;

  // The open view (store_id, view_lsn) of peer `name`. kNotFound if it is not open (its
  // directory gone, or the peer no longer configured).
  virtual Result<PeerViewRef> Find(const std::string& name, const std::string& store_id,
                                   uint64_t view_lsn) = 0;

  // For StoreOptions::peers: the open view's store, or nullptr. Never blocks long.
  virtual const store::Store* ViewStore(std::string_view store_id, uint64_t view_lsn) const = 0;

  // The root password of cluster `cluster_id`'s engine as the view's meta copy shipped it
  // (the datadir's accounts need it). kNotFound if the copy did not ship one.
  virtual Result<std::string> RootPassword(const PeerViewRef& view,
                                           const std::string& cluster_id) = 0;

  // Writes the pin of clone `clone` (an id unique on this node: the cluster's resource id) on
  // everything the view reads in the peer's bucket, so the peer's collector keeps it. An
  // overwrite of the same pin is harmless (idempotent). The client's errors.
  virtual Status Pin(const PeerViewRef& view, const std::string& clone, int64_t created_ns) = 0;
  // Deletes that pin (needs no open view). Ok also when there was none. kNotFound if `name`
  // is not a configured peer; the client's errors.
  virtual Status Unpin(const std::string& name, const std::string& store_id,
                       const std::string& clone) = 0;
};

}  // namespace rwd::cluster
