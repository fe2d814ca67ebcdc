// PeerView: a second node's read-only view of another node's store in the same bucket (issue
// 18; docs/format/object-store.md, "A second node"). Built once from the peer's HEAD into
// DIR/peers/ID/LSN/ (LSN: the peer's shipped LSN then, the view's `view_lsn`):
//   store/index.ckpt     HEAD's checkpoint;
//   store/log/*.cold     a cold marker per segment file below HEAD's segment, from its .crcs
//                        (no bytes: every read is a checked ranged GET of the peer's object);
//   store/log/S.seg      HEAD's segment (whole, or its tail chunks cut at HEAD's offset);
//   meta.db              HEAD's meta.db copy (the peer's clusters, windows);
//   run/ID/root.password ... the files shipped with that copy (HEAD's meta_files, 0600): the
//                        engines' root passwords a clone of a cluster of the view needs;
//   view.json            what the view reads in the bucket (checkpoint, meta copy, segment
//                        files): the body of the pins that keep it there (PinBody).
// It is built in a temporary directory and renamed into place, so a crash leaves a whole view
// or none. The view's store is opened with a ColdTier on the peer's store id and is never
// written to by anything but its own open (it is local to this node; nothing of it goes to the
// bucket). A local volume reads it as its foreign ancestor (Store::CloneForeign).
//
// Thread safety: the accessors may be called from any thread; store() as Store is.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "common/status.h"
#include "objstore/cold_tier.h"
#include "objstore/s3_client.h"
#include "store/store.h"

namespace rwd::objstore {

class PeerView {
 public:
  // Builds the view of store `store_id` as of its current HEAD below peers_dir (DIR/peers),
  // unless one of that HEAD exists already, then opens it (one open PeerView per directory:
  // callers keep a registry of the views they opened). client: the peer's (its prefix),
  // not owned, outlives the view. kNotFound: no such store (no HEAD); kCorruption: a HEAD,
  // .crcs or tail that does not check; the client's errors otherwise (nothing is left behind).
  static Result<std::unique_ptr<PeerView>> Build(S3Client* client, const std::string& peers_dir,
                                                 const std::string& store_id);
  // Opens a view built earlier (DIR/peers/ID/LSN). kNotFound: no view there.
  static Result<std::unique_ptr<PeerView>> Open(S3Client* client, const std::string& view_dir);
  ~PeerView();

  const std::string& store_id() const { return store_id_; }
  uint64_t view_lsn() const { return view_lsn_; }
  const std::string& dir() const { return dir_; }
  const store::Store& store() const { return *store_; }
  // The view's meta.db copy ("" when HEAD named none).
  std::string meta_path() const;
  // view.json: {"layout":1,"store_id":ID,"view_lsn":L,"checkpoint":NAME|null,"meta":NAME|null,
  // "files":[[S,F],...]}; a pin object's body adds who pins it (WritePin).
  const std::string& description() const { return description_; }
  const std::vector<std::pair<uint32_t, uint32_t>>& segment_files() const { return files_; }
  const std::string& checkpoint_name() const { return checkpoint_; }
  const std::string& meta_name() const { return meta_; }

  // The pin that keeps what this view reads in the peer's bucket prefix while clone `clone`
  // of store `pinning_store` (this node's store id) reads through it: PinObjectName /
  // PinBody (bucket_gc.h), written with the view's client, the one object this node writes
  // below the peer's store id. Written before the clone serves; deleted with the clone.
  // The client's errors (nothing is pinned unless WritePin returned Ok).
  Status WritePin(const std::string& pinning_store, const std::string& clone,
                  int64_t created_ns) const;
  // Ok also when there was no such pin.
  Status DeletePin(const std::string& pinning_store, const std::string& clone) const;

 private:
  PeerView() = default;
  S3Client* client_ = nullptr;
  std::string store_id_, dir_, description_, checkpoint_, meta_;
  uint64_t view_lsn_ = 0;
  std::vector<std::pair<uint32_t, uint32_t>> files_;
  std::unique_ptr<ColdTier> tier_;
  std::unique_ptr<store::Store> store_;
};

}  // namespace rwd::objstore
