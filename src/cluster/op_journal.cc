#include "cluster/op_journal.h"

#include <chrono>

namespace rwd::cluster {
namespace {

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

OperationRow ToRow(const Operation& op) {
  OperationRow r;
  r.id = op.id;
  r.kind = static_cast<int64_t>(op.kind);
  r.target = op.target;
  r.ref = op.ref;
  r.arg_ns = op.arg_ns;
  r.state = static_cast<int64_t>(op.state);
  r.step = static_cast<int64_t>(op.step);
  r.volume_id = op.volume_id;
  r.timeline_before = op.timeline_before;
  r.timeline_after = op.timeline_after;
  r.message = op.message;
  r.started_ns = op.started_ns;
  r.updated_ns = op.updated_ns;
  return r;
}

Operation FromRow(const OperationRow& r) {
  Operation op;
  op.id = r.id;
  op.kind = static_cast<OpKind>(r.kind);
  op.target = r.target;
  op.ref = r.ref;
  op.arg_ns = r.arg_ns;
  op.state = static_cast<OpState>(r.state);
  op.step = static_cast<OpStep>(r.step);
  op.volume_id = r.volume_id;
  op.timeline_before = r.timeline_before;
  op.timeline_after = r.timeline_after;
  op.message = r.message;
  op.started_ns = r.started_ns;
  op.updated_ns = r.updated_ns;
  return op;
}

}  // namespace

const char* OpKindName(OpKind kind) {
  switch (kind) {
    case OpKind::kCreate: return "create";
    case OpKind::kDelete: return "delete";
    case OpKind::kBacktrack: return "backtrack";
    case OpKind::kClone: return "clone";
    case OpKind::kReboot: return "reboot";
    case OpKind::kModify: return "modify";
    case OpKind::kCreateInstance: return "create_instance";
    case OpKind::kDeleteInstance: return "delete_instance";
    case OpKind::kRestoreSnapshot: return "restore_snapshot";
    case OpKind::kStop: return "stop";
    case OpKind::kStart: return "start";
    case OpKind::kCreateReader: return "create_reader";
    case OpKind::kDeleteReader: return "delete_reader";
    case OpKind::kFailover: return "failover";
    case OpKind::kDeleteWriter: return "delete_writer";
    case OpKind::kPeerClone: return "peer_clone";
  }
  return "unknown";
}

const char* OpStepName(OpStep step) {
  switch (step) {
    case OpStep::kRequested: return "requested";
    case OpStep::kVolumeMade: return "volume_made";
    case OpStep::kInitialized: return "initialized";
    case OpStep::kPrepared: return "prepared";
    case OpStep::kHalted: return "halted";
    case OpStep::kRebranched: return "rebranched";
    case OpStep::kVolumeDeleted: return "volume_deleted";
    case OpStep::kPasswordSet: return "password_set";
    case OpStep::kEnginesStopped: return "engines_stopped";
    case OpStep::kUnmounted: return "unmounted";
    case OpStep::kMounted: return "mounted";
    case OpStep::kEnginesStarted: return "engines_started";
    case OpStep::kReaderCloned: return "reader_cloned";
    case OpStep::kReaderServing: return "reader_serving";
    case OpStep::kReaderFollowing: return "reader_following";
    case OpStep::kReadersReprovisioned: return "readers_reprovisioned";
    case OpStep::kWriterStopped: return "writer_stopped";
    case OpStep::kReaderHalted: return "reader_halted";
    case OpStep::kRolesSwapped: return "roles_swapped";
    case OpStep::kWriterServing: return "writer_serving";
    case OpStep::kOldWriterFollowing: return "old_writer_following";
    case OpStep::kOldWriterDeleted: return "old_writer_deleted";
    case OpStep::kPeerPinned: return "pinned";
    case OpStep::kPeerVolumeMade: return "volume_made";
    case OpStep::kPeerPrepared: return "prepared";
  }
  return "unknown";
}

Status OpJournal::Begin(Operation* op) {
  op->state = OpState::kRunning;
  op->started_ns = op->updated_ns = NowNs();
  OperationRow row = ToRow(*op);
  RETURN_IF_ERROR(meta_->InsertOperation(&row));
  op->id = row.id;
  return Status::Ok();
}

Status OpJournal::Step(Operation* op, OpStep step) {
  op->step = step;
  op->updated_ns = NowNs();
  return meta_->UpdateOperation(ToRow(*op));
}

Status OpJournal::Finish(Operation* op, OpState state, const std::string& message) {
  op->state = state;
  op->message = message;
  op->updated_ns = NowNs();
  return meta_->UpdateOperation(ToRow(*op));
}

Result<std::vector<Operation>> OpJournal::Unfinished() {
  ASSIGN_OR_RETURN(std::vector<OperationRow> rows,
                   meta_->ListOperationsInState(static_cast<int64_t>(OpState::kRunning)));
  std::vector<Operation> out;
  for (const OperationRow& r : rows) out.push_back(FromRow(r));
  return out;
}

Result<std::vector<Operation>> OpJournal::History(const std::string& target, int limit) {
  ASSIGN_OR_RETURN(std::vector<OperationRow> rows, meta_->ListOperationsOf(target, limit));
  std::vector<Operation> out;
  for (const OperationRow& r : rows) out.push_back(FromRow(r));
  return out;
}

}  // namespace rwd::cluster
