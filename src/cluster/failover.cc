// FailoverDBCluster, and the deletion of a writer that has readers (which fails over first).
//
// Aurora's failover restarts a reader as the writer of the cluster's shared volume. Rewind's
// cluster volume is shared the same way: the writer's mariadbd is the only one that serves it,
// each reader serving a copy-on-write clone that follows it. So a failover moves the writer
// ROLE, not data: the writer's engine stops (gracefully: every committed transaction is on the
// cluster's volume, whatever the readers' lag), the promoted reader's engine stops and its
// clone is dropped, one meta.db transaction swaps the two instance rows (role, port, server
// id), the cluster's engine serves the cluster's volume again on the cluster's port — the
// cluster endpoint now reaches the new writer — and the old writer is provisioned as a reader
// (a fresh clone of the head, following by GTID), or, for delete_writer, deleted. The volume,
// its history and so the backtrack window are untouched, and the binlog continues (same
// server_id 1), so the other readers reconnect and go on.
//
// Journal (op_journal.h): failover / delete_writer, steps writer_stopped, reader_halted,
// roles_swapped, writer_serving, old_writer_following / old_writer_deleted, each followed by a
// failpoint cluster.<op>.<step> (and cluster.failover.completed after the "Completed failover"
// event, which recovery then does not record again). Recovery (RecoverFailover) asks the rows, not the step,
// whether the swap happened: before it, the failover is rolled back (the old writer serves
// again, the reader is started again on its clone, kFailoverReverted); after it, it is rolled
// forward (the promoted reader's clone dropped, the old writer's reader re-created from a fresh
// clone or its deletion redone, by RecoverReaders).
#include <cstdio>
#include <limits>

#include "cluster/service_impl.h"
#include "common/failpoint.h"

namespace rwd::cluster {
namespace {

std::string FailoverRef(const std::string& promoted, const std::string& old_writer) {
  return promoted + "," + old_writer;
}

// Instance identifiers hold no comma (ValidateIdentifier).
bool ParseFailoverRef(const std::string& ref, std::string* promoted, std::string* old_writer) {
  const size_t comma = ref.find(',');
  if (comma == std::string::npos) return false;
  *promoted = ref.substr(0, comma);
  *old_writer = ref.substr(comma + 1);
  return !promoted->empty() && !old_writer->empty();
}

}  // namespace

Result<InstanceRow> ClusterService::Impl::CheckFailover(const ClusterRow& row) {
  if (row.status != ClusterStatus::kAvailable) {
    return InvalidState(Reason::kClusterNotFailoverable,
                        {.id = row.id, .cluster_status = row.status});
  }
  std::optional<InstanceRow> writer = WriterOf(row.id);
  if (!writer) {
    return InvalidState(Reason::kNoWriterToFailOver, {.id = row.id});
  }
  // A failed writer is what a failover is for; one busy with another operation is not.
  if (writer->status != InstanceStatus::kAvailable && writer->status != InstanceStatus::kFailed) {
    return InvalidState(Reason::kWriterBusyForFailover,
                        {.id = writer->id, .other = row.id, .instance_status = writer->status});
  }
  return *writer;
}

Result<InstanceRow> ClusterService::Impl::PickFailoverTarget(
    const ClusterRow& row, const std::optional<std::string>& target) {
  if (target) {
    ASSIGN_OR_RETURN(std::optional<InstanceRow> t, GetInstanceRow(Lower(*target)));
    if (!t) return InstanceNotFound(*target);
    if (t->cluster_id != row.id) {
      return InvalidInstanceState(Reason::kTargetNotMember, {.id = t->id, .other = row.id});
    }
    if (t->role == InstanceRole::kWriter) {
      return InvalidInstanceState(Reason::kTargetIsWriter, {.id = t->id, .other = row.id});
    }
    if (t->status != InstanceStatus::kAvailable) {
      return InvalidInstanceState(Reason::kTargetNotAvailable,
                                  {.id = t->id, .instance_status = t->status});
    }
    return *t;
  }
  std::vector<InstanceRow> readers = ReadersOf(row.id);
  if (readers.empty()) {
    return InvalidState(Reason::kNoReaderToFailOver, {.id = row.id});
  }
  // As Aurora, the best reader: here the available one with the least replica lag (an
  // unknown lag counts as the worst; ties go to the first by name).
  std::optional<InstanceRow> best;
  int64_t best_lag = std::numeric_limits<int64_t>::max();
  for (const InstanceRow& r : readers) {
    if (r.status != InstanceStatus::kAvailable) continue;
    int64_t lag = std::numeric_limits<int64_t>::max() - 1;
    if (std::shared_ptr<ClusterHost> host = FindReaderHost(r.id)) {
      // Never waits behind an operation on the reader (mu_ is held).
      std::unique_lock<std::mutex> ol(host->op_mutex(), std::try_to_lock);
      if (ol.owns_lock()) {
        if (auto st = host->ReplicaState(); st.ok() && st->seconds_behind) {
          lag = *st->seconds_behind;
        }
      }
    }
    if (!best || lag < best_lag || (lag == best_lag && r.id < best->id)) {
      best = r;
      best_lag = lag;
    }
  }
  if (!best) {
    return InvalidState(Reason::kNoAvailableReader, {.id = row.id});
  }
  return *best;
}

Status ClusterService::Impl::BeginFailover(OpKind kind, ClusterRow row, InstanceRow writer,
                                           const InstanceRow& promoted) {
  auto vol = store_->GetVolume(store::VolumeId(static_cast<uint64_t>(promoted.volume_id)));
  Operation op{.kind = kind, .target = row.id, .ref = FailoverRef(promoted.id, writer.id)};
  // The promoted reader's clone, dropped once the roles are swapped (recovery too).
  op.volume_id = vol.ok() ? promoted.volume_id : 0;
  RETURN_IF_ERROR(BeginOp(&op));
  row.status = ClusterStatus::kFailingOver;
  if (Status s = meta_->PutCluster(row); !s.ok()) {
    FinishOp(&op, s);
    return s;
  }
  if (kind == OpKind::kDeleteWriter) {
    writer.status = InstanceStatus::kDeleting;
    if (Status s = PutInstanceRow(writer); !s.ok()) {
      (void)SetClusterStatus(row.id, ClusterStatus::kAvailable);
      FinishOp(&op, s);
      return s;
    }
  }
  Event(row.id, EventKind::kFailoverStarted, promoted.id);
  Async([this, op, row] { DoFailover(op, row); });
  return Status::Ok();
}

void ClusterService::Impl::DoFailover(Operation op, ClusterRow row) {
  const bool del = op.kind == OpKind::kDeleteWriter;
  std::string promoted_id, old_id;
  ParseFailoverRef(op.ref, &promoted_id, &old_id);
  auto pr = GetInstanceRow(promoted_id);
  auto old = GetInstanceRow(old_id);
  auto writer_made = HostFor(row);
  Result<std::shared_ptr<ClusterHost>> reader_made =
      pr.ok() && *pr ? ReaderHostFor(**pr, row)
                     : Result<std::shared_ptr<ClusterHost>>(
                           Status::NotFound("reader " + promoted_id + " is gone"));
  auto finish_cluster = [&](const Status& outcome) {
    if (Status s = SetClusterStatus(row.id, ClusterStatus::kAvailable); !s.ok()) {
      std::fprintf(stderr, "rewindd: cluster %s after its failover: %s\n", row.id.c_str(),
                   s.ToString().c_str());
    }
    FinishOp(&op, outcome);
    RefreshReaderEndpoint(row.id);
  };
  if (!writer_made.ok() || !reader_made.ok() || !old.ok() || !*old) {
    Status why = !writer_made.ok() ? writer_made.status()
                 : !reader_made.ok() ? reader_made.status()
                                     : Status::NotFound("writer " + old_id + " is gone");
    if (old.ok() && *old && del) SaveInstanceStatus(**old, InstanceStatus::kAvailable);
    Event(row.id, EventKind::kFailoverFailed, why.message());
    return finish_cluster(why);
  }
  ClusterHost& writer = **writer_made;
  std::shared_ptr<ClusterHost> reader = *reader_made;
  std::lock_guard<std::mutex> wl(writer.op_mutex());
  std::unique_lock<std::mutex> rl(reader->op_mutex());
  if (del) Failpoint("cluster.delete_writer.requested");
  else Failpoint("cluster.failover.requested");

  // Before the swap, a failure rolls back: the old writer serves again, the reader too.
  auto revert = [&](const Status& why) {
    std::fprintf(stderr, "rewindd: failover of %s to %s failed: %s\n", row.id.c_str(),
                 promoted_id.c_str(), why.ToString().c_str());
    Status up = writer.Serve();
    SaveInstanceStatus(**old, up.ok() ? InstanceStatus::kAvailable : InstanceStatus::kFailed);
    Status back = reader->Serve();  // its replication settings are in its datadir
    SaveInstanceStatus(**pr, back.ok() ? InstanceStatus::kAvailable : InstanceStatus::kFailed);
    Event(row.id, EventKind::kFailoverFailed, why.message());
    Event(row.id, EventKind::kFailoverReverted, old_id);
    rl.unlock();
    finish_cluster(why);
  };
  Status s = writer.StopEngine();
  if (s.ok()) s = RecordStep(&op, OpStep::kWriterStopped);
  if (!s.ok()) return revert(s.WithContext("stopping the writer"));
  if (del) Failpoint("cluster.delete_writer.writer_stopped");
  else Failpoint("cluster.failover.writer_stopped");
  s = reader->Halt(HaltMode::kGraceful);
  if (s.ok()) s = RecordStep(&op, OpStep::kReaderHalted);
  if (!s.ok()) return revert(s.WithContext("stopping the reader"));
  if (del) Failpoint("cluster.delete_writer.reader_halted");
  else Failpoint("cluster.failover.reader_halted");

  // The swap, in one transaction: the reader is the writer (the cluster's port and volume,
  // server_id 1: the binlog goes on as it was); the old writer takes the reader's port and
  // server_id, without a volume (creating: provisioned below, or redone by recovery).
  InstanceRow nw = **pr, ow = **old;
  nw.role = InstanceRole::kWriter;
  nw.port = 0;
  nw.volume_id = 0;
  nw.server_id = kWriterServerId;
  nw.status = InstanceStatus::kAvailable;
  ow.role = InstanceRole::kReader;
  ow.port = (*pr)->port;
  ow.server_id = (*pr)->server_id;
  ow.volume_id = 0;
  ow.status = del ? InstanceStatus::kDeleting : InstanceStatus::kCreating;
  {
    std::lock_guard<std::mutex> lk(unsaved_mu_);
    s = meta_->PutInstances({nw, ow});
    if (s.ok()) {
      unsaved_.erase(nw.id);
      unsaved_.erase(ow.id);
    }
  }
  if (!s.ok()) return revert(s.WithContext("swapping the roles in meta.db"));
  // A step that cannot be recorded is no reason to undo the swap: recovery reads the rows.
  if (Status r = RecordStep(&op, OpStep::kRolesSwapped); !r.ok()) {
    std::fprintf(stderr, "rewindd: recording the failover of %s: %s\n", row.id.c_str(),
                 r.ToString().c_str());
  }
  if (del) Failpoint("cluster.delete_writer.roles_swapped");
  else Failpoint("cluster.failover.roles_swapped");
  // The promoted reader's clone and directories are no longer needed.
  if (Status d = reader->Dismantle(); !d.ok()) {
    std::fprintf(stderr, "rewindd: dropping the former reader clone of %s: %s\n",
                 promoted_id.c_str(), d.ToString().c_str());
  }
  rl.unlock();
  {
    std::lock_guard<std::mutex> lk(readers_mu_);
    reader_hosts_.erase(promoted_id);
  }

  // The new writer: the cluster's engine on the cluster's volume and port (with the new
  // writer's DB parameter group: the host asks for its settings before the start).
  s = writer.Serve();
  if (!s.ok()) {
    std::fprintf(stderr, "rewindd: the new writer %s of %s does not start: %s\n",
                 nw.id.c_str(), row.id.c_str(), s.ToString().c_str());
    SaveInstanceStatus(nw, InstanceStatus::kFailed);
    Event(nw.id, EventKind::kInstanceStartFailed, s.message());
  }
  if (s.ok()) s = RecordStep(&op, OpStep::kWriterServing);
  if (s.ok()) {
    if (del) Failpoint("cluster.delete_writer.writer_serving");
    else Failpoint("cluster.failover.writer_serving");
  }
  Event(nw.id, EventKind::kPromotedToWriter);

  if (del) {
    // The other readers reconnect to the new writer (a provisioning below asserts it too).
    if (s.ok()) KeepReplicationAccount(writer, row);
    // The old writer has no volume of its own: its row is all that is left of it.
    Status gone = DeleteInstanceRow(ow.id);
    if (gone.ok()) {
      Event(ow.id, EventKind::kInstanceDeleted);
      if (Status r = RecordStep(&op, OpStep::kOldWriterDeleted); r.ok()) {
        Failpoint("cluster.delete_writer.old_writer_deleted");
      }
    } else {
      SaveInstanceStatus(ow, InstanceStatus::kFailed);
      Event(ow.id, EventKind::kInstanceDeletionFailed, gone.message());
      if (s.ok()) s = gone;
    }
  } else if (s.ok()) {
    // The old writer becomes a reader: a fresh clone of the head, following the new writer.
    Status follow = Status::Ok();
    auto made = ReaderHostFor(ow, row);
    if (!made.ok()) follow = made.status();
    if (follow.ok()) {
      std::lock_guard<std::mutex> ol((*made)->op_mutex());
      follow = ProvisionReader(writer, **made, row, &ow, nullptr);
    }
    if (follow.ok()) {
      SaveInstanceStatus(ow, InstanceStatus::kAvailable);
      if (Status r = RecordStep(&op, OpStep::kOldWriterFollowing); r.ok()) {
        Failpoint("cluster.failover.old_writer_following");
      }
    } else {
      std::fprintf(stderr, "rewindd: the old writer %s of %s as a reader: %s\n", ow.id.c_str(),
                   row.id.c_str(), follow.ToString().c_str());
      SaveInstanceStatus(ow, InstanceStatus::kFailed);
      Event(ow.id, EventKind::kReaderCreationFailed, follow.message());
    }
  } else {
    // No writer to follow: the old writer waits, failed, for a reboot or its deletion.
    SaveInstanceStatus(ow, InstanceStatus::kFailed);
    Event(ow.id, EventKind::kReaderCreationFailed, "the new writer does not serve");
  }
  // The roles are swapped whatever followed: the failover is done (a failure above is an
  // instance's, with its own event).
  FailoverCompletedOnce(op, row.id, nw.id);
  if (!del) Failpoint("cluster.failover.completed");
  finish_cluster(Status::Ok());
}

void ClusterService::Impl::FailoverCompletedOnce(const Operation& op,
                                                 const std::string& cluster_id,
                                                 const std::string& new_writer) {
  if (auto events = meta_->ListEvents(); events.ok()) {
    for (const EventRow& e : *events) {
      if (e.kind == static_cast<int64_t>(EventKind::kFailoverCompleted) &&
          e.source_id == cluster_id && e.message == new_writer && e.date_ns >= op.started_ns) {
        return;
      }
    }
  }
  Event(cluster_id, EventKind::kFailoverCompleted, new_writer);
}

Status ClusterService::Impl::RecoverFailover(ClusterRow* row, std::optional<Operation> op) {
  row->status = ClusterStatus::kAvailable;
  RETURN_IF_ERROR(meta_->PutCluster(*row));
  std::string promoted_id, old_id;
  if (!op || !ParseFailoverRef(op->ref, &promoted_id, &old_id)) {
    if (op) FinishOp(&*op, Status::Unavailable("interrupted by a restart"));
    return Status::Ok();
  }
  std::optional<InstanceRow> writer = WriterOf(row->id);
  if (!writer || writer->id != promoted_id) {
    // Rolled back: meta.db never swapped; the writer serves again with its cluster (Recover),
    // the reader is started again on its clone (RecoverReaders).
    if (op->kind == OpKind::kDeleteWriter && writer && writer->id == old_id &&
        writer->status == InstanceStatus::kDeleting) {
      writer->status = InstanceStatus::kAvailable;  // not deleted: its readers need it
      RETURN_IF_ERROR(PutInstanceRow(*writer));
    }
    const Status why =
        Status::Unavailable("interrupted by a restart before the roles were swapped; " + old_id +
                            " is still the writer");
    Event(row->id, EventKind::kFailoverFailed, why.message());
    Event(row->id, EventKind::kFailoverReverted, old_id);
    FinishOp(&*op, why);
    return Status::Ok();
  }
  // Rolled forward: the promoted reader's clone (if still there) and directories go; the old
  // writer's row (a reader without a volume) is provisioned or deleted by RecoverReaders.
  InstanceRow former;
  former.id = promoted_id;
  former.cluster_id = row->id;
  former.role = InstanceRole::kReader;
  former.volume_id = op->volume_id;
  KillServerOf(ReaderRunDir(promoted_id));
  ASSIGN_OR_RETURN(std::shared_ptr<ClusterHost> leftover, ReaderHostFor(former, *row));
  {
    std::lock_guard<std::mutex> ol(leftover->op_mutex());
    if (Status d = leftover->Dismantle(); !d.ok()) {
      std::fprintf(stderr, "rewindd: dropping the former reader clone of %s: %s\n",
                   promoted_id.c_str(), d.ToString().c_str());
    }
  }
  {
    std::lock_guard<std::mutex> lk(readers_mu_);
    reader_hosts_.erase(promoted_id);
  }
  FailoverCompletedOnce(*op, row->id, promoted_id);
  FinishOp(&*op, Status::Ok());
  return Status::Ok();
}

// ---- The requests ----

Result<ClusterView> ClusterService::FailoverCluster(const std::string& cluster_id,
                                                    const std::optional<std::string>& target) {
  std::lock_guard<std::mutex> lk(impl_->mu_);
  ASSIGN_OR_RETURN(ClusterRow row, impl_->GetClusterRow(cluster_id));
  ASSIGN_OR_RETURN(InstanceRow writer, impl_->CheckFailover(row));
  ASSIGN_OR_RETURN(InstanceRow promoted, impl_->PickFailoverTarget(row, target));
  RETURN_IF_ERROR(impl_->BeginFailover(OpKind::kFailover, row, writer, promoted));
  row.status = ClusterStatus::kFailingOver;
  return impl_->View(row);
}

Result<InstanceView> ClusterService::Impl::DeleteWriterWithReaders(const ClusterRow& row,
                                                                   InstanceRow writer) {
  RETURN_IF_ERROR(CheckFailover(row).status());
  Result<InstanceRow> promoted = PickFailoverTarget(row, std::nullopt);
  if (!promoted.ok() && ErrorKindOf(promoted.status()) == ClusterError::kInvalidClusterState) {
    // Say what the deletion waits for, not only why a failover cannot run.
    return InvalidState(Reason::kWriterDeleteNoReaderAvailable,
                        {.id = writer.id, .other = row.id});
  }
  RETURN_IF_ERROR(promoted.status());
  RETURN_IF_ERROR(BeginFailover(OpKind::kDeleteWriter, row, writer, *promoted));
  writer.status = InstanceStatus::kDeleting;
  return ViewInstance(writer, row);
}

}  // namespace rwd::cluster
