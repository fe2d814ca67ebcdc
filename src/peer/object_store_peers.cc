#include "peer/object_store_peers.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "objstore/bucket_gc.h"
#include "objstore/segment_uploader.h"

namespace rwd::peer {
namespace {

namespace fs = std::filesystem;

std::string ReadSmallFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Writes `text` to `path` (0600) durably: a temporary file renamed over it, then the directory
// synced.
Status WriteFileDurably(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return Status::FromErrno(errno, "create " + tmp);
  const bool written = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) &&
                       ::fsync(fd) == 0;
  const int err = errno;
  ::close(fd);
  if (!written) return Status::FromErrno(err, "write " + tmp);
  if (::rename(tmp.c_str(), path.c_str()) != 0) return Status::FromErrno(errno, "rename " + tmp);
  const std::string dir = fs::path(path).parent_path().string();
  fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return Status::FromErrno(errno, "open " + dir);
  const int rc = ::fsync(fd);
  ::close(fd);
  return rc == 0 ? Status::Ok() : Status::FromErrno(errno, "fsync " + dir);
}

bool IsDecimal(const std::string& s) {
  return !s.empty() && s.size() <= 20 && s.find_first_not_of("0123456789") == std::string::npos;
}

}  // namespace

Result<std::unique_ptr<ObjectStorePeers>> ObjectStorePeers::Open(
    const std::string& peers_dir, const std::string& own_store_id,
    std::map<std::string, std::unique_ptr<objstore::S3Client>> clients,
    std::function<void(const std::string&)> log) {
  std::unique_ptr<ObjectStorePeers> p(new ObjectStorePeers());
  p->dir_ = peers_dir;
  p->own_store_id_ = own_store_id;
  p->clients_ = std::move(clients);
  if (log) {
    p->log_ = std::move(log);
  } else {
    p->log_ = [](const std::string&) {};
  }
  std::error_code ec;
  fs::create_directories(peers_dir, ec);
  if (ec) return Status::IOError("create " + peers_dir + ": " + ec.message());
  if (::chmod(peers_dir.c_str(), 0700) != 0) return Status::FromErrno(errno, "chmod " + peers_dir);
  for (const auto& store_dir : fs::directory_iterator(peers_dir, ec)) {
    if (!store_dir.is_directory()) continue;
    std::string name = ReadSmallFile(store_dir.path().string() + "/peer");
    while (!name.empty() && name.back() == '\n') name.pop_back();
    objstore::S3Client* client = p->Client(name);
    for (const auto& e : fs::directory_iterator(store_dir.path(), ec)) {
      const std::string leaf = e.path().filename().string();
      if (!e.is_directory()) continue;
      if (leaf.rfind("building-", 0) == 0) {
        // A build a crash cut short (PeerView::Build renames a whole view into place).
        fs::remove_all(e.path(), ec);
        p->log_("removed " + e.path().string() + ", a view build cut short" +
                (ec ? " (failed: " + ec.message() + ")" : ""));
        continue;
      }
      if (!IsDecimal(leaf)) continue;
      if (client == nullptr) {
        p->log_("view " + e.path().string() + " not opened: its peer '" + name +
                "' is not configured (rewindd --peer-object-store " +
                (name.empty() ? "NAME" : name) + "=s3://...); a clone reading it cannot open");
        continue;
      }
      Result<std::unique_ptr<objstore::PeerView>> v =
          objstore::PeerView::Open(client, e.path().string());
      if (!v.ok()) return v.status().WithContext("peer " + name + ": view " + e.path().string());
      const Key key{(*v)->store_id(), (*v)->view_lsn()};
      p->views_.emplace(key, View{name, std::move(*v)});
    }
    if (ec) return Status::IOError("list " + store_dir.path().string() + ": " + ec.message());
  }
  if (ec) return Status::IOError("list " + peers_dir + ": " + ec.message());
  return p;
}

ObjectStorePeers::~ObjectStorePeers() = default;

std::vector<std::string> ObjectStorePeers::Names() const {
  std::vector<std::string> out;
  for (const auto& [name, client] : clients_) out.push_back(name);
  return out;  // a std::map: sorted
}

objstore::S3Client* ObjectStorePeers::Client(const std::string& name) const {
  auto it = clients_.find(name);
  return it == clients_.end() ? nullptr : it->second.get();
}

size_t ObjectStorePeers::views() const {
  std::lock_guard<std::mutex> lk(views_mu_);
  return views_.size();
}

const ObjectStorePeers::View* ObjectStorePeers::Lookup(const std::string& store_id,
                                                       uint64_t view_lsn) const {
  std::lock_guard<std::mutex> lk(views_mu_);
  auto it = views_.find(Key{store_id, view_lsn});
  return it == views_.end() ? nullptr : &it->second;  // never erased: stays valid
}

cluster::PeerViewRef ObjectStorePeers::Ref(const View& v) const {
  cluster::PeerViewRef r;
  r.peer = v.peer;
  r.store_id = v.view->store_id();
  r.view_lsn = v.view->view_lsn();
  r.store = &v.view->store();
  r.meta_path = v.view->meta_path();
  r.time_ns = v.view->store().LastTimeNs();
  return r;
}

Result<std::string> ObjectStorePeers::CurrentStoreId(const std::string& name) {
  objstore::S3Client* client = Client(name);
  if (client == nullptr) return Status::NotFound("no peer named " + name);
  ASSIGN_OR_RETURN(std::vector<objstore::ObjectInfo> all, client->ListAll("rewind/v1/stores/"));
  const objstore::ObjectInfo* newest = nullptr;
  std::string newest_id;
  for (const objstore::ObjectInfo& o : all) {
    // rewind/v1/stores/ID/HEAD (listings give ISO 8601 times: they sort as text)
    if (o.key.size() <= 17 + 5 || o.key.compare(o.key.size() - 5, 5, "/HEAD") != 0) continue;
    const std::string id = o.key.substr(17, o.key.size() - 17 - 5);
    if (id.find('/') != std::string::npos || id == own_store_id_) continue;
    if (newest == nullptr || o.last_modified > newest->last_modified) {
      newest = &o;
      newest_id = id;
    }
  }
  if (newest == nullptr) {
    return Status::NotFound("peer " + name + " has no store in s3://" + client->config().bucket +
                            "/" + client->config().prefix + " (no rewind/v1/stores/*/HEAD): is "
                            "its rewindd running with --object-store there?");
  }
  return newest_id;
}

Result<cluster::PeerViewRef> ObjectStorePeers::Resolve(const std::string& name,
                                                       std::optional<int64_t> at_ns) {
  objstore::S3Client* client = Client(name);
  if (client == nullptr) return Status::NotFound("no peer named " + name);
  std::lock_guard<std::mutex> build(build_mu_);
  ASSIGN_OR_RETURN(std::string store_id, CurrentStoreId(name));
  if (at_ns) {
    // The newest open view of that store, if it holds the moment.
    const View* newest = nullptr;
    {
      std::lock_guard<std::mutex> lk(views_mu_);
      for (auto it = views_.lower_bound(Key{store_id, 0});
           it != views_.end() && it->first.first == store_id; ++it) {
        newest = &it->second;  // ascending LSN: the last one is the newest
      }
    }
    if (newest != nullptr && newest->view->store().LastTimeNs() >= *at_ns) {
      // Reused only while what it reads is still in the bucket: its checkpoint is either the
      // peer's HEAD's (whose files the peer's collector keeps) or pinned with every file it
      // names. A view no clone pins any more may have lost objects: a new one is built then.
      const std::string& ckpt = newest->view->checkpoint_name();
      if (ckpt.empty()) return Ref(*newest);
      Result<objstore::ObjectInfo> kept = client->Head(ckpt);
      if (kept.ok()) return Ref(*newest);
      if (kept.status().code() != Status::Code::kNotFound) return kept.status();
    }
  }
  // The peer's HEAD now: an open view of it is reused (a view is opened once).
  ASSIGN_OR_RETURN(std::string head_text,
                   client->Get(objstore::StoreRootName(store_id) + "HEAD"));
  nlohmann::json head = nlohmann::json::parse(head_text, nullptr, /*allow_exceptions=*/false);
  if (!head.is_object() || !head["lsn"].is_number_unsigned()) {
    return Status::Corruption("peer " + name + ": the HEAD of store " + store_id +
                              " is not a layout-1 HEAD: " + head_text);
  }
  if (const View* v = Lookup(store_id, head["lsn"].get<uint64_t>())) return Ref(*v);
  // Which peer's client opens this store's views at the next start: written before the view.
  const std::string store_dir = dir_ + "/" + store_id;
  std::error_code ec;
  fs::create_directories(store_dir, ec);
  if (ec) return Status::IOError("create " + store_dir + ": " + ec.message());
  if (ReadSmallFile(store_dir + "/peer") != name + "\n") {
    RETURN_IF_ERROR(WriteFileDurably(store_dir + "/peer", name + "\n"));
  }
  // HEAD may have moved on since: Build takes the newest (never one open already: all views
  // on disk are open, and HEAD only moves forward).
  ASSIGN_OR_RETURN(std::unique_ptr<objstore::PeerView> built,
                   objstore::PeerView::Build(client, dir_, store_id));
  const Key key{built->store_id(), built->view_lsn()};
  log_("built the view of peer " + name + "'s store " + store_id + " at LSN " +
       std::to_string(key.second) + " in " + built->dir());
  std::lock_guard<std::mutex> lk(views_mu_);
  auto [it, added] = views_.emplace(key, View{name, std::move(built)});
  (void)added;
  return Ref(it->second);
}

Result<cluster::PeerViewRef> ObjectStorePeers::Find(const std::string& name,
                                                    const std::string& store_id,
                                                    uint64_t view_lsn) {
  const View* v = Lookup(store_id, view_lsn);
  if (v == nullptr || v->peer != name) {
    return Status::NotFound("the view of peer " + name + "'s store " + store_id + " at LSN " +
                            std::to_string(view_lsn) + " is not open (" + dir_ + "/" + store_id +
                            "/" + std::to_string(view_lsn) + ")");
  }
  return Ref(*v);
}

const store::Store* ObjectStorePeers::ViewStore(std::string_view store_id,
                                                uint64_t view_lsn) const {
  const View* v = Lookup(std::string(store_id), view_lsn);
  return v == nullptr ? nullptr : &v->view->store();
}

Result<std::string> ObjectStorePeers::RootPassword(const cluster::PeerViewRef& view,
                                                   const std::string& cluster_id) {
  const View* v = Lookup(view.store_id, view.view_lsn);
  if (v == nullptr) return Status::NotFound("no open view " + view.store_id);
  const std::string rel = "run/" + cluster_id + "/root.password";
  // Shipped with the view's meta copy (HEAD's meta_files) and written into the view.
  std::string pw = ReadSmallFile(v->view->dir() + "/" + rel);
  if (pw.empty() && !v->view->meta_name().empty()) {
    // A view built without its meta copy's files: read from the bucket (pinned with the copy).
    const std::string& meta = v->view->meta_name();
    Result<std::string> got =
        Client(v->peer)->Get(meta.substr(0, meta.size() - 3) + ".files/" + rel);
    if (!got.ok() && got.status().code() != Status::Code::kNotFound) return got.status();
    if (got.ok()) pw = *got;
  }
  while (!pw.empty() && (pw.back() == '\n' || pw.back() == '\r')) pw.pop_back();
  if (pw.empty()) {
    return Status::NotFound("peer " + v->peer + " shipped no root password of cluster " +
                            cluster_id + " with its metadata (" + rel + ")");
  }
  return pw;
}

Status ObjectStorePeers::Pin(const cluster::PeerViewRef& view, const std::string& clone,
                             int64_t created_ns) {
  const View* v = Lookup(view.store_id, view.view_lsn);
  if (v == nullptr) return Status::NotFound("no open view " + view.store_id);
  return v->view->WritePin(own_store_id_, clone, created_ns);
}

Status ObjectStorePeers::Unpin(const std::string& name, const std::string& store_id,
                               const std::string& clone) {
  objstore::S3Client* client = Client(name);
  if (client == nullptr) return Status::NotFound("no peer named " + name);
  return client->Delete(objstore::PinObjectName(store_id, own_store_id_, clone));
}

}  // namespace rwd::peer
