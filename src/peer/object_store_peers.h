// ObjectStorePeers: cluster::PeerCatalog over the peers' buckets (rewindd --peer-object-store;
// docs/format/object-store.md, "A second node"), with objstore::PeerView for each view.
//
// Why a room of its own (src/peer): the catalog's interface is the cluster layer's and its
// views are the object store's; src/cluster must not depend on src/objstore and src/objstore
// depends on the store only, so the adapter that joins them sits above both, beside rewindd
// (cli -> peer -> {cluster, objstore}).
//
// On disk, under DATA_DIR/peers/ (0700):
//   STORE_ID/peer        the name of the peer whose prefix holds that store (written before the
//                        first view of it is built): which client opens its views at start;
//   STORE_ID/LSN/        a view (objstore::PeerView), with its meta copy's shipped files
//                        (run/CLUSTER/root.password: the source engines' root passwords);
//   STORE_ID/building-*  a build a crash cut short: deleted at Open.
// A peer's store is the one in its prefix whose HEAD was written last (rewind/v1/stores/*/HEAD
// by Last-Modified), never this node's own (peers may share its bucket and prefix): a peer
// restored with --restore gets a new store id, and its new store takes over once it ships.
// Finding it lists the peer's prefix (every object of its stores: one listing per clone).
//
// Thread safety: as cluster::PeerCatalog (builds are serialised; ViewStore takes only a short
// lock). The S3 clients are owned; views stay open until the catalog is destroyed, which must
// come after the cluster service's.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>

#include "cluster/peer_catalog.h"
#include "objstore/peer_view.h"
#include "objstore/s3_client.h"

namespace rwd::peer {

class ObjectStorePeers : public cluster::PeerCatalog {
 public:
  // Opens every view under peers_dir of a configured peer (deleting building-* leftovers,
  // each logged through `log`; a store directory of a peer not configured is left as it is,
  // logged). own_store_id: this node's store id (its pins name it; never taken for a peer's).
  // clients: the peers' clients by name, each on its peer's prefix. Failure: a view that does
  // not open (PeerView::Open's status, naming its directory), an unusable peers_dir.
  static Result<std::unique_ptr<ObjectStorePeers>> Open(
      const std::string& peers_dir, const std::string& own_store_id,
      std::map<std::string, std::unique_ptr<objstore::S3Client>> clients,
      std::function<void(const std::string&)> log);
  ~ObjectStorePeers() override;

  std::vector<std::string> Names() const override;
  Result<cluster::PeerViewRef> Resolve(const std::string& name,
                                       std::optional<int64_t> at_ns) override;
  Result<cluster::PeerViewRef> Find(const std::string& name, const std::string& store_id,
                                    uint64_t view_lsn) override;
  const store::Store* ViewStore(std::string_view store_id, uint64_t view_lsn) const override;
  Result<std::string> RootPassword(const cluster::PeerViewRef& view,
                                   const std::string& cluster_id) override;
  Status Pin(const cluster::PeerViewRef& view, const std::string& clone,
             int64_t created_ns) override;
  Status Unpin(const std::string& name, const std::string& store_id,
               const std::string& clone) override;

  // The id of the store that is peer `name`'s now (see above). kNotFound: no store in its
  // prefix; the client's errors.
  Result<std::string> CurrentStoreId(const std::string& name);
  // How many views are open (for logs and tests).
  size_t views() const;

 private:
  struct View {
    std::string peer;
    std::unique_ptr<objstore::PeerView> view;
  };
  using Key = std::pair<std::string, uint64_t>;  // (store id, view LSN)

  ObjectStorePeers() = default;
  cluster::PeerViewRef Ref(const View& v) const;
  objstore::S3Client* Client(const std::string& name) const;
  // The registered view, or nullptr. Takes views_mu_.
  const View* Lookup(const std::string& store_id, uint64_t view_lsn) const;

  std::string dir_, own_store_id_;
  std::map<std::string, std::unique_ptr<objstore::S3Client>> clients_;  // const after Open
  std::function<void(const std::string&)> log_;
  std::mutex build_mu_;           // serialises Resolve's find-or-build
  mutable std::mutex views_mu_;   // guards views_ (a leaf: held for map operations only)
  std::map<Key, View> views_;     // entries are never removed before the destructor
};

}  // namespace rwd::peer
