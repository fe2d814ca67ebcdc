#include "objstore/shipper.h"

#include "objstore/bucket_gc.h"

#include <fcntl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cinttypes>
#include <cstdio>

#include "common/crc32c.h"

namespace rwd::objstore {
namespace {

int64_t WallNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string Digits(uint64_t v, int width) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%0*" PRIu64, width, v);
  return buf;
}

Status ReadRange(int fd, uint64_t offset, size_t len, std::string* out, const std::string& what) {
  out->resize(len);
  size_t done = 0;
  while (done < len) {
    const ssize_t n = ::pread(fd, out->data() + done, len - done,
                              static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Status::FromErrno(errno, "read " + what);
    if (n == 0) return Status::IOError(what + " ends before offset " + std::to_string(offset + len));
    done += static_cast<size_t>(n);
  }
  return Status::Ok();
}

struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

// STORE_DIR/objstore.id: 32 hex digits, made once (written to a temp file, synced, renamed).
Result<std::string> LoadOrMakeStoreId(const std::string& store_dir) {
  const std::string path = store_dir + "/objstore.id";
  Fd fd{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
  if (fd.fd >= 0) {
    std::string id;
    RETURN_IF_ERROR(ReadRange(fd.fd, 0, 32, &id, path));
    const bool hex = std::all_of(id.begin(), id.end(), [](char c) {
      return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
    });
    if (!hex) return Status::Corruption(path + " does not hold a store id (32 hex digits)");
    return id;
  }
  if (errno != ENOENT) return Status::FromErrno(errno, "open " + path);
  unsigned char raw[16];
  if (::getrandom(raw, sizeof raw, 0) != static_cast<ssize_t>(sizeof raw)) {
    return Status::FromErrno(errno, "getrandom for a store id");
  }
  std::string id;
  for (unsigned char b : raw) {
    id += "0123456789abcdef"[b >> 4];
    id += "0123456789abcdef"[b & 15];
  }
  const std::string tmp = path + ".tmp";
  Fd out{::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)};
  if (out.fd < 0) return Status::FromErrno(errno, "create " + tmp);
  const std::string line = id + "\n";
  if (::write(out.fd, line.data(), line.size()) != static_cast<ssize_t>(line.size()) ||
      ::fsync(out.fd) != 0 || ::rename(tmp.c_str(), path.c_str()) != 0) {
    return Status::FromErrno(errno, "write " + path);
  }
  Fd dir{::open(store_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)};
  if (dir.fd < 0 || ::fsync(dir.fd) != 0) return Status::FromErrno(errno, "sync " + store_dir);
  return id;
}

}  // namespace

Result<std::unique_ptr<Shipper>> Shipper::Create(S3Client* client, ShipperSource source,
                                                 ShipperOptions options) {
  if (!source.durable_log) return Status::InvalidArgument("Shipper needs source.durable_log");
  if (static_cast<bool>(source.meta_changes) != static_cast<bool>(source.snapshot_meta)) {
    return Status::InvalidArgument("Shipper: meta_changes and snapshot_meta go together");
  }
  if (options.interval_ms < 10 || options.meta_interval_ms < 0 || options.max_tail_chunk == 0) {
    return Status::InvalidArgument("Shipper: bad intervals or chunk size");
  }
  ASSIGN_OR_RETURN(std::string id, LoadOrMakeStoreId(options.store_dir));
  ASSIGN_OR_RETURN(std::unique_ptr<SegmentUploader> uploader,
                   SegmentUploader::Create(client, options.store_dir, id));
  Status reach = uploader->EnsureStore();
  if (!reach.ok()) {
    return reach.WithContext("object store s3://" + client->config().bucket + "/" +
                             client->config().prefix + " at " + client->config().endpoint);
  }
  return std::unique_ptr<Shipper>(new Shipper(client, std::move(source), std::move(options),
                                              std::move(id), std::move(uploader)));
}

Shipper::Shipper(S3Client* client, ShipperSource source, ShipperOptions options, std::string id,
                 std::unique_ptr<SegmentUploader> uploader)
    : client_(client),
      source_(std::move(source)),
      options_(std::move(options)),
      store_id_(std::move(id)),
      uploader_(std::move(uploader)) {
  stats_.store_id = store_id_;
  shipped_at_ns_ = WallNs();
}

Shipper::~Shipper() { Stop(); }

void Shipper::Start() {
  if (thread_.joinable()) return;
  thread_ = std::thread([this] { Loop(); });
  if (options_.behind_after_ms > 0) watchdog_ = std::thread([this] { Watch(); });
}

void Shipper::Watch() {
  std::unique_lock<std::mutex> lk(stop_mu_);
  while (!stop_cv_.wait_for(lk, std::chrono::milliseconds(500), [this] { return stop_; })) {
    lk.unlock();
    const ShipperStats s = stats();
    if (!s.down && s.lag_seconds * 1000 > static_cast<double>(options_.behind_after_ms)) {
      char why[160];
      std::snprintf(why, sizeof why,
                    "the object store is slow: %.0f s (%" PRIu64 " bytes) of durable log not "
                    "uploaded",
                    s.lag_seconds, s.lag_bytes);
      MarkDown(why);
    }
    lk.lock();
  }
}

void Shipper::MarkDown(const std::string& why) {
  {
    std::lock_guard<std::mutex> lk(mu_);
    if (stats_.down) return;
    stats_.down = true;
  }
  if (source_.on_state) source_.on_state(true, why);
}

void Shipper::Stop() {
  {
    std::lock_guard<std::mutex> lk(stop_mu_);
    stop_ = true;
  }
  stop_cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  if (watchdog_.joinable()) watchdog_.join();
}

void Shipper::Loop() {
  std::unique_lock<std::mutex> lk(stop_mu_);
  while (true) {
    const bool stopping = stop_;
    lk.unlock();
    const bool was_down = stats().down;
    // The last pass at a stop ships what the orderly shutdown made durable, unless the store
    // is down (then it would only wait out the client's retries).
    if ((!stopping || !was_down) && RunOnce().ok() && source_.after_pass) source_.after_pass();
    lk.lock();
    if (stopping) return;
    stop_cv_.wait_for(lk, std::chrono::milliseconds(options_.interval_ms));
  }
}

std::string Shipper::TailPrefix(uint32_t segment) const {
  return StoreRootName(store_id_) + "tail/" + Digits(segment, 8) + "/";
}

Status Shipper::RunOnce() {
  std::lock_guard<std::mutex> pass(pass_mu_);
  UploadReport report;
  bool caught_up = false;
  Status s = [&]() -> Status {
    bool meta_shipped = false;
    RETURN_IF_ERROR(ShipMeta(&meta_shipped));
    const int64_t t0 = WallNs();
    const LogSnapshot snap = source_.durable_log();
    Result<UploadReport> r = uploader_->RunOnce(snap.closed);
    if (!r.ok()) return r.status();
    report = *r;
    if (r->checkpoint_lsn != 0) checkpoints_.insert(r->checkpoint_lsn);
    for (const LocalSegmentFile& f : snap.closed) {
      if (!uploader_->Uploaded(f.segment, f.file_id)) {
        // Replaced by a cleaning pass while this one ran (not a failure): its successor goes
        // up next pass, and the shipped point moves then.
        return Status::Ok();
      }
    }
    if (!listed_old_tails_) {
      // Tail chunks a previous run left behind (their segments may be up by now).
      ASSIGN_OR_RETURN(std::vector<ObjectInfo> old,
                       client_->ListAll(StoreRootName(store_id_) + "tail/"));
      const size_t at = StoreRootName(store_id_).size() + 5;
      for (const ObjectInfo& o : old) {
        if (o.key.size() > at + 8) tails_to_delete_.insert(std::stoul(o.key.substr(at, 8)));
      }
      listed_old_tails_ = true;
    }
    for (const LocalSegmentFile& f : snap.closed) {
      if (tails_to_delete_.count(f.segment)) {
        RETURN_IF_ERROR(DeleteTails(f.segment));
        tails_to_delete_.erase(f.segment);
        if (tail_segment_ == f.segment) tail_segment_ = 0;
      }
    }
    const bool in_closed = !snap.closed.empty() && snap.closed.back().segment >= snap.segment;
    if (!in_closed && snap.segment == snap.active_segment) RETURN_IF_ERROR(ShipTail(snap));
    // Caught up: what was durable when the pass began is shipped, and the pass was quick, so
    // the lag is about one interval again (under load the log never stands still).
    caught_up = WallNs() - t0 <= 2 * options_.interval_ms * 1'000'000;
    {
      std::lock_guard<std::mutex> lk(mu_);
      stats_.shipped_lsn = snap.lsn;
      shipped_segment_ = snap.segment;
      shipped_offset_ = snap.offset;
      shipped_at_ns_ = t0;
    }
    RETURN_IF_ERROR(PutHead(snap));
    return Collect(snap);
  }();
  bool back = false;
  {
    std::lock_guard<std::mutex> lk(mu_);
    stats_.passes++;
    stats_.bytes_uploaded += report.bytes;
    stats_.objects_uploaded += report.uploaded;
    if (!s.ok()) {
      stats_.failures++;
      stats_.last_error = s.ToString();
    } else if (stats_.down && caught_up) {
      stats_.down = false;
      back = true;
    }
  }
  if (!s.ok()) MarkDown(s.ToString());
  if (back && source_.on_state) source_.on_state(false, "every durable commit is in the bucket");
  return s;
}

Status Shipper::ShipMeta(bool* shipped) {
  *shipped = false;
  if (!source_.snapshot_meta) return Status::Ok();
  const int64_t now = WallNs();
  if (meta_changes_shipped_ >= 0 &&
      (source_.meta_changes() == meta_changes_shipped_ ||
       now - last_meta_ns_ < options_.meta_interval_ms * 1'000'000)) {
    return Status::Ok();
  }
  const std::string tmp = options_.work_dir + "/objstore-meta.db.tmp";
  ::unlink(tmp.c_str());
  int64_t changes = 0;
  Result<uint64_t> lsn = source_.snapshot_meta(tmp, &changes);
  if (!lsn.ok()) return lsn.status().WithContext("copying meta.db");
  Fd fd{::open(tmp.c_str(), O_RDONLY | O_CLOEXEC)};
  if (fd.fd < 0) return Status::FromErrno(errno, "open " + tmp);
  struct stat st;
  if (::fstat(fd.fd, &st) != 0) return Status::FromErrno(errno, "stat " + tmp);
  // Named by the LSN and the copy's time: two copies at one LSN (events added, the log idle)
  // get two names, and each name is written once.
  const std::string name = StoreRootName(store_id_) + "meta/" + Digits(*lsn, 20) + "-" +
                           Digits(static_cast<uint64_t>(now), 20) + ".db";
  UploadReport report;
  Status s = uploader_->UploadFile(name, fd.fd, static_cast<uint64_t>(st.st_size), tmp, &report);
  ::unlink(tmp.c_str());
  RETURN_IF_ERROR(s);
  {
    std::lock_guard<std::mutex> lk(mu_);
    stats_.bytes_uploaded += report.bytes;
    stats_.objects_uploaded += report.uploaded;
  }
  std::vector<std::string> files;
  if (source_.aux_files) {
    for (const std::string& rel : source_.aux_files()) {
      const std::string path = source_.data_dir + "/" + rel;
      Fd aux{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
      if (aux.fd < 0 && errno == ENOENT) continue;
      if (aux.fd < 0) return Status::FromErrno(errno, "open " + path);
      struct stat ast;
      if (::fstat(aux.fd, &ast) != 0) return Status::FromErrno(errno, "stat " + path);
      const std::string aux_name = name.substr(0, name.size() - 3) + ".files/" + rel;
      UploadReport r;
      RETURN_IF_ERROR(
          uploader_->UploadFile(aux_name, aux.fd, static_cast<uint64_t>(ast.st_size), path, &r));
      std::lock_guard<std::mutex> lk(mu_);
      stats_.bytes_uploaded += r.bytes;
      stats_.objects_uploaded += r.uploaded;
      files.push_back(rel);
    }
  }
  meta_files_[*lsn] = files;
  metas_[*lsn] = name;
  meta_changes_shipped_ = changes;
  last_meta_ns_ = now;
  *shipped = true;
  return Status::Ok();
}

Status Shipper::ResumeTail(uint32_t segment, const std::string& path) {
  ASSIGN_OR_RETURN(std::vector<ObjectInfo> chunks, client_->ListAll(TailPrefix(segment)));
  const size_t at = TailPrefix(segment).size();
  std::map<uint64_t, std::pair<uint64_t, std::string>> by_start;  // O -> (E, key)
  for (const ObjectInfo& o : chunks) {
    if (o.key.size() != at + 25 || o.key[at + 12] != '-') continue;
    const uint64_t from = std::stoull(o.key.substr(at, 12)), to = std::stoull(o.key.substr(at + 13));
    if (to > from && o.size == to - from) by_start[from] = {to, o.key};
  }
  uint64_t end = 0;
  std::string last;
  uint64_t last_from = 0;
  for (auto it = by_start.find(0); it != by_start.end(); it = by_start.find(end)) {
    last_from = it->first;
    end = it->second.first;
    last = it->second.second;
  }
  if (!last.empty()) {
    // The chunk a killed run wrote last must be the local bytes: else this is not our log.
    ASSIGN_OR_RETURN(ObjectInfo head, client_->Head(last));
    Fd fd{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
    if (fd.fd < 0) return Status::FromErrno(errno, "open " + path);
    std::string bytes;
    RETURN_IF_ERROR(ReadRange(fd.fd, last_from, end - last_from, &bytes, path));
    char crc[9];
    std::snprintf(crc, sizeof crc, "%08" PRIx32, crc32c::Value(bytes.data(), bytes.size()));
    if (head.metadata["rewind-crc32c"] != crc) {
      return Status::FailedPrecondition(
          last + " in the bucket differs from bytes [" + std::to_string(last_from) + ", " +
          std::to_string(end) + ") of " + path + ": not overwritten; is another store using id " +
          store_id_ + "?");
    }
    tails_to_delete_.insert(segment);
  }
  tail_segment_ = segment;
  tail_end_ = end;
  unsure_chunk_end_ = 0;
  return Status::Ok();
}

Status Shipper::ShipTail(const LogSnapshot& snap) {
  if (tail_segment_ != snap.segment) RETURN_IF_ERROR(ResumeTail(snap.segment, snap.active_path));
  if (tail_end_ >= snap.offset) return Status::Ok();
  Fd fd{::open(snap.active_path.c_str(), O_RDONLY | O_CLOEXEC)};
  if (fd.fd < 0) return Status::FromErrno(errno, "open " + snap.active_path);
  std::string bytes;
  while (tail_end_ < snap.offset) {
    // A chunk whose PUT failed is sent again as it was: the store may have kept it (the
    // connection cut after the server stored it), and a longer chunk from the same offset beside
    // it would break the chain's "each chunk starts where the previous one ends".
    const uint64_t n = unsure_chunk_end_ > tail_end_ && unsure_chunk_end_ <= snap.offset
                           ? unsure_chunk_end_ - tail_end_
                           : std::min(options_.max_tail_chunk, snap.offset - tail_end_);
    RETURN_IF_ERROR(ReadRange(fd.fd, tail_end_, n, &bytes, snap.active_path));
    const std::string name =
        TailPrefix(snap.segment) + Digits(tail_end_, 12) + "-" + Digits(tail_end_ + n, 12);
    tails_to_delete_.insert(snap.segment);
    unsure_chunk_end_ = tail_end_ + n;
    RETURN_IF_ERROR(client_->Put(name, bytes,
                                 IntegrityMetadata(crc32c::Value(bytes.data(), n), n)));
    unsure_chunk_end_ = 0;
    tail_end_ += n;
    std::lock_guard<std::mutex> lk(mu_);
    stats_.bytes_uploaded += n;
    stats_.objects_uploaded++;
  }
  return Status::Ok();
}

Status Shipper::DeleteTails(uint32_t segment) {
  ASSIGN_OR_RETURN(std::vector<ObjectInfo> chunks, client_->ListAll(TailPrefix(segment)));
  std::vector<std::string> keys;
  for (const ObjectInfo& o : chunks) keys.push_back(o.key);
  if (keys.empty()) return Status::Ok();
  RETURN_IF_ERROR(client_->DeleteMany(keys));
  std::lock_guard<std::mutex> lk(mu_);
  stats_.objects_deleted += keys.size();
  return Status::Ok();
}

Status Shipper::PutHead(const LogSnapshot& snap) {
  // The newest checkpoint and meta copy the shipped log covers.
  auto ckpt = checkpoints_.upper_bound(snap.lsn);
  auto meta = metas_.upper_bound(snap.lsn);
  std::string body = "{\"layout\":1,\"store_id\":\"" + store_id_ +
                     "\",\"lsn\":" + std::to_string(snap.lsn) +
                     ",\"segment\":" + std::to_string(snap.segment) +
                     ",\"offset\":" + std::to_string(snap.offset) + ",\"checkpoint\":";
  body += ckpt == checkpoints_.begin()
              ? "null"
              : "\"" + CheckpointObjectName(store_id_, *std::prev(ckpt)) + "\"";
  body += ",\"meta\":";
  body += meta == metas_.begin() ? "null" : "\"" + std::prev(meta)->second + "\"";
  body += ",\"meta_files\":[";
  if (meta != metas_.begin()) {
    const std::vector<std::string>& files = meta_files_[std::prev(meta)->first];
    for (size_t i = 0; i < files.size(); ++i) body += (i ? ",\"" : "\"") + files[i] + "\"";
  }
  body += "]}\n";
  if (body == head_written_) return Status::Ok();
  RETURN_IF_ERROR(client_->Put(StoreRootName(store_id_) + "HEAD", body));
  head_written_ = body;
  return Status::Ok();
}

Status Shipper::Collect(const LogSnapshot& snap) {
  const int64_t now = WallNs();
  if (now - last_collect_ns_ < options_.collect_interval_ms * 1'000'000) return Status::Ok();
  // What PutHead named: the newest checkpoint and meta copy at or below the shipped LSN.
  auto ckpt = checkpoints_.upper_bound(snap.lsn);
  if (ckpt == checkpoints_.begin()) return Status::Ok();  // no checkpoint in HEAD: keep all
  const uint64_t ckpt_lsn = *std::prev(ckpt);
  const std::string ckpt_name = CheckpointObjectName(store_id_, ckpt_lsn);
  auto meta = metas_.upper_bound(snap.lsn);
  const std::string meta_name = meta == metas_.begin() ? "" : std::prev(meta)->second;
  if (collected_for_ckpt_ != ckpt_lsn) {
    ASSIGN_OR_RETURN(std::string bytes, client_->Get(ckpt_name));
    Result<CheckpointSummary> parsed = ParseCheckpoint(bytes);
    if (!parsed.ok()) return parsed.status().WithContext(ckpt_name);
    collect_ckpt_ = std::move(parsed).value();
    collected_for_ckpt_ = ckpt_lsn;
  }
  ASSIGN_OR_RETURN(std::vector<ObjectInfo> listing, client_->ListAll(StoreRootName(store_id_)));
  std::vector<std::string> keys;
  for (ObjectInfo& o : listing) keys.push_back(std::move(o.key));
  // Other nodes' pins (their clones read through what they name): a pin that cannot be read
  // stops this collection, never a deletion it might forbid.
  BucketPins pins;
  const std::string pins_prefix = StoreRootName(store_id_) + "pins/";
  for (const std::string& key : keys) {
    if (key.compare(0, pins_prefix.size(), pins_prefix) != 0) continue;
    Result<std::string> body = client_->Get(key);
    if (!body.ok() && body.status().code() == Status::Code::kNotFound) continue;  // unpinned
    if (!body.ok()) return body.status();
    RETURN_IF_ERROR(AddPin(store_id_, *body, &pins).WithContext(key));
  }
  {
    std::lock_guard<std::mutex> lk(mu_);
    stats_.pins = pins.count;
    stats_.oldest_pin_ns = pins.oldest_created_ns;
  }
  const std::vector<std::string> obsolete =
      ObsoleteObjects(store_id_, keys, collect_ckpt_, ckpt_name, meta_name, pins);
  if (!obsolete.empty()) RETURN_IF_ERROR(client_->DeleteMany(obsolete));
  checkpoints_.erase(checkpoints_.begin(), std::prev(ckpt));
  if (meta != metas_.begin()) {
    for (auto it = metas_.begin(); it != std::prev(meta);) {
      meta_files_.erase(it->first);
      it = metas_.erase(it);
    }
  }
  last_collect_ns_ = now;
  std::lock_guard<std::mutex> lk(mu_);
  stats_.objects_collected += obsolete.size();
  return Status::Ok();
}

ShipperStats Shipper::stats() const {
  const LogSnapshot snap = source_.durable_log();
  std::lock_guard<std::mutex> lk(mu_);
  ShipperStats s = stats_;
  s.durable_lsn = snap.lsn;
  if (s.oldest_pin_ns != 0) s.oldest_pin_age_seconds = double(WallNs() - s.oldest_pin_ns) / 1e9;
  if (snap.lsn <= s.shipped_lsn) return s;
  s.lag_seconds = static_cast<double>(WallNs() - shipped_at_ns_) / 1e9;
  auto part = [&](uint32_t segment, uint64_t size) -> uint64_t {
    if (segment > shipped_segment_) return size;
    if (segment == shipped_segment_) return size - std::min<uint64_t>(size, shipped_offset_);
    return 0;
  };
  for (const LocalSegmentFile& f : snap.closed) s.lag_bytes += part(f.segment, f.size);
  const bool in_closed = !snap.closed.empty() && snap.closed.back().segment >= snap.segment;
  if (!in_closed) s.lag_bytes += part(snap.segment, snap.offset);
  return s;
}

}  // namespace rwd::objstore
