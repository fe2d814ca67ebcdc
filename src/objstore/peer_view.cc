#include "objstore/peer_view.h"

#include <fcntl.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "objstore/bucket_gc.h"
#include "objstore/restore.h"

namespace rwd::objstore {
namespace {

namespace fs = std::filesystem;

Status SyncDir(const std::string& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return Status::FromErrno(errno, "open " + dir);
  const int rc = ::fsync(fd);
  const int err = errno;
  ::close(fd);
  return rc == 0 ? Status::Ok() : Status::FromErrno(err, "fsync " + dir);
}

}  // namespace

PeerView::~PeerView() {
  store_.reset();  // reads through the tier: closed first
}

std::string PeerView::meta_path() const {
  const std::string p = dir_ + "/meta.db";
  std::error_code ec;
  return fs::exists(p, ec) ? p : "";
}

Result<std::unique_ptr<PeerView>> PeerView::Build(S3Client* client, const std::string& peers_dir,
                                                  const std::string& store_id) {
  if (client == nullptr) return Status::InvalidArgument("PeerView: no S3 client");
  const std::string base = peers_dir + "/" + store_id;
  std::error_code ec;
  fs::create_directories(base, ec);
  if (ec) return Status::IOError("create " + base + ": " + ec.message());
  std::string tmpl = base + "/building-XXXXXX";
  if (::mkdtemp(tmpl.data()) == nullptr) return Status::FromErrno(errno, "mkdtemp " + tmpl);
  const std::string tmp = tmpl;
  auto cleanup = [&] { fs::remove_all(tmp, ec); };
  RestoreOptions ro;
  ro.store_id = store_id;
  ro.cold_history = true;
  // The meta copy's shipped files too (run/ID/root.password): a clone of a cluster of the
  // view needs its engine's root password as of that copy.
  ro.aux_files = true;
  Result<RestoreReport> r = RestoreFromBucket(client, tmp, ro);
  if (!r.ok()) {
    cleanup();
    return r.status().WithContext("building the view of peer store " + store_id);
  }
  nlohmann::json d = {{"layout", 1},
                      {"store_id", store_id},
                      {"view_lsn", r->lsn},
                      {"checkpoint", r->checkpoint_name.empty() ? nlohmann::json(nullptr)
                                                                : nlohmann::json(r->checkpoint_name)},
                      {"meta", r->meta_name.empty() ? nlohmann::json(nullptr)
                                                    : nlohmann::json(r->meta_name)},
                      {"files", r->segment_files}};
  {
    std::ofstream out(tmp + "/view.json", std::ios::binary | std::ios::trunc);
    out << d.dump() << "\n";
    if (!out.flush()) {
      cleanup();
      return Status::IOError("write " + tmp + "/view.json");
    }
  }
  // Into place whole (a view of that HEAD built before is the same: kept, this one dropped).
  const std::string dir = base + "/" + std::to_string(r->lsn);
  if (fs::exists(dir, ec)) {
    cleanup();
  } else {
    Status synced = SyncDir(tmp);
    if (synced.ok()) {
      fs::rename(tmp, dir, ec);
      if (ec) synced = Status::IOError("rename " + tmp + " to " + dir + ": " + ec.message());
    }
    if (!synced.ok()) {
      cleanup();
      return synced;
    }
    RETURN_IF_ERROR(SyncDir(base));
  }
  return Open(client, dir);
}

Result<std::unique_ptr<PeerView>> PeerView::Open(S3Client* client, const std::string& view_dir) {
  if (client == nullptr) return Status::InvalidArgument("PeerView: no S3 client");
  std::ifstream in(view_dir + "/view.json", std::ios::binary);
  if (!in) return Status::NotFound("no peer view in " + view_dir + " (no view.json)");
  std::stringstream text;
  text << in.rdbuf();
  nlohmann::json d = nlohmann::json::parse(text.str(), nullptr, /*allow_exceptions=*/false);
  if (!d.is_object() || !d["store_id"].is_string() || !d["view_lsn"].is_number_unsigned() ||
      !d["files"].is_array()) {
    return Status::Corruption(view_dir + "/view.json is not a peer view's: " + text.str());
  }
  std::unique_ptr<PeerView> v(new PeerView());
  v->store_id_ = d["store_id"].get<std::string>();
  v->view_lsn_ = d["view_lsn"].get<uint64_t>();
  v->dir_ = view_dir;
  v->description_ = d.dump();
  v->client_ = client;
  if (d["checkpoint"].is_string()) v->checkpoint_ = d["checkpoint"].get<std::string>();
  if (d["meta"].is_string()) v->meta_ = d["meta"].get<std::string>();
  for (const auto& f : d["files"]) {
    if (!f.is_array() || f.size() != 2 || !f[0].is_number_unsigned() ||
        !f[1].is_number_unsigned()) {
      return Status::Corruption(view_dir + "/view.json: bad segment file entry");
    }
    v->files_.emplace_back(f[0].get<uint32_t>(), f[1].get<uint32_t>());
  }
  ASSIGN_OR_RETURN(v->tier_, ColdTier::Create(client, v->store_id_));
  store::StoreOptions o;
  o.dir = view_dir + "/store";
  o.tier = v->tier_.get();
  o.preallocate_segments = false;  // never appended to
  o.background_compaction = false;
  Result<std::unique_ptr<store::Store>> s = store::Store::Open(o);
  if (!s.ok()) return s.status().WithContext("opening the view of peer store " + v->store_id_);
  v->store_ = std::move(*s);
  return v;
}

Status PeerView::WritePin(const std::string& pinning_store, const std::string& clone,
                          int64_t created_ns) const {
  return client_->Put(PinObjectName(store_id_, pinning_store, clone),
                      PinBody(store_id_, pinning_store, clone, created_ns, view_lsn_, checkpoint_,
                              meta_, files_),
                      PutOptions{{{"rewind-layout", "1"}}});
}

Status PeerView::DeletePin(const std::string& pinning_store, const std::string& clone) const {
  Status s = client_->Delete(PinObjectName(store_id_, pinning_store, clone));
  return s.code() == Status::Code::kNotFound ? Status::Ok() : s;
}

}  // namespace rwd::objstore
