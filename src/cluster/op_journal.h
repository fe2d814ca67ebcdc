// OpJournal: every long operation of the cluster service is a row of meta.db's `operations`
// table (docs/format/meta-db.md), written before its first step and after each step with that
// step's result, so that after a crash recovery (ClusterService::Open) resumes or rolls back
// each unfinished operation from what the journal and the store say — ids, not clocks.
//
// Steps, per kind, in order (each a failpoint `cluster.<kind>.<step>` right after it is
// recorded, see Failpoints in cluster_operations.cc):
//   create:           requested -> volume_made (volume_id) -> initialized -> done
//   clone:            requested -> volume_made (volume_id) -> prepared -> done
//   backtrack:        requested (timeline_before = the head when asked) -> halted ->
//                     rebranched (timeline_after = the new head) -> done
//   delete:           requested -> halted -> volume_deleted -> done
//   create_instance / reboot: requested -> done
//   delete_instance:  requested -> halted -> done
//   modify:           requested -> done
//   restore_snapshot: requested (ref = the snapshot) -> volume_made (volume_id) -> prepared ->
//                     done
//   stop:             requested -> engines_stopped -> unmounted -> done (cluster_stop_start.cc)
//   start:            requested -> mounted -> engines_started -> done
//   create_reader:    requested (target = the reader; ref = its cluster) -> reader_cloned
//                     (volume_id) -> reader_serving -> reader_following -> done; recovery redoes
//                     it from the start (a fresh clone of the writer's head at that moment).
//   delete_reader:    requested -> halted -> volume_deleted -> done (recovery redoes it).
//   A backtrack of a cluster with readers has one more step before done: rebranched ->
//   readers_reprovisioned (each reader re-cloned from the rewound head and following again).
//   failover:         requested (target = the cluster; ref = "<promoted>,<old writer>";
//                     volume_id = the promoted reader's clone) -> writer_stopped ->
//                     reader_halted -> roles_swapped -> writer_serving -> old_writer_following
//                     -> done. Recovery rolls back before roles_swapped (the old writer serves
//                     again, the reader follows again) and forward from it (failover.cc).
//   delete_writer:    as failover (the writer being deleted fails over to its best reader),
//                     its last step old_writer_deleted instead of old_writer_following.
//   peer_clone:       requested (ref = "<peer>:<source cluster>", arg_ns = the moment; the
//                     row names the peer's view) -> pinned (the pin is in the peer's bucket)
//                     -> volume_made (volume_id: Store::CloneForeign) -> prepared -> done
//                     (cluster_peer_clone.cc). Recovery redoes it from the start (each step is
//                     idempotent: the pin rewritten, the volume found by id or name).
// Snapshot create, copy and delete are not journalled: each is one pin record plus one meta.db
// row, settled at Open from the two (ClusterService::Impl::SettleSnapshots); their failpoints
// are cluster.snapshot.{secret_written,pinned}, cluster.copy_snapshot.pinned and
// cluster.delete_snapshot.{marked,unpinned}.
// A row ends `done` or `failed` (with a message); rows are kept (a history of operations).
//
// Thread safety: as MetaDb (every call is one SQLite statement, durable on return).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "cluster/meta_db.h"
#include "common/status.h"

namespace rwd::cluster {

enum class OpKind {
  kCreate = 1,
  kDelete = 2,
  kBacktrack = 3,
  kClone = 4,
  kReboot = 5,
  kModify = 6,
  kCreateInstance = 7,
  kDeleteInstance = 8,
  kRestoreSnapshot = 9,
  kStop = 10,   // StopDBCluster
  kStart = 11,  // StartDBCluster
  // Reader instances (readers.cc).
  kCreateReader = 14,
  kDeleteReader = 15,
  // FailoverDBCluster (failover.cc); a writer deleted while it has readers fails over first.
  kFailover = 16,
  kDeleteWriter = 17,
  // A clone of a peer's cluster (cluster_peer_clone.cc; issue 18's second node).
  kPeerClone = 22,
};

enum class OpStep {
  kRequested = 0,
  kVolumeMade = 1,
  kInitialized = 2,
  kPrepared = 3,
  kHalted = 4,
  kRebranched = 5,
  kVolumeDeleted = 6,
  kPasswordSet = 7,  // modify: the engine has the new master password
  kEnginesStopped = 20,  // stop: every engine of the cluster stopped gracefully
  kUnmounted = 21,       // stop: the volume is no longer mounted
  kMounted = 22,         // start: the volume's head is mounted
  kEnginesStarted = 23,  // start: the cluster's engines serve
  // Reader instances (readers.cc).
  kReaderCloned = 30,      // create_reader: the reader's volume is a clone of the writer's now
  kReaderServing = 31,     // create_reader: its mariadbd recovered the clone and serves
  kReaderFollowing = 32,   // create_reader: it replicates from the writer
  kReadersReprovisioned = 33,  // backtrack: every reader is a clone of the rewound head
  // Failover (failover.cc).
  kWriterStopped = 34,      // the writer's engine stopped (the cluster's volume stays mounted)
  kReaderHalted = 35,       // the promoted reader's engine stopped and its clone unmounted
  kRolesSwapped = 36,       // one meta.db transaction: the reader is the writer, and back
  kWriterServing = 37,      // the cluster's engine serves again, as the new writer
  kOldWriterFollowing = 38, // failover: the old writer is a reader following the new one
  kOldWriterDeleted = 39,   // delete_writer: the old writer's row is gone
  // Peer clone (cluster_peer_clone.cc).
  kPeerPinned = 60,      // the pin on what the peer's view reads is in the peer's bucket
  kPeerVolumeMade = 61,  // the clone's volume made (Store::CloneForeign), its id journaled
  kPeerPrepared = 62,    // its run dir seeded with the source's root password, mounted
};

enum class OpState { kRunning = 0, kDone = 1, kFailed = 2 };

// The name of a kind or step in failpoints and logs ("backtrack", "rebranched").
const char* OpKindName(OpKind kind);
const char* OpStepName(OpStep step);

// An operation as the journal holds it (OperationRow, typed).
struct Operation {
  int64_t id = 0;            // assigned by Begin
  OpKind kind = OpKind::kCreate;
  std::string target;        // the cluster's (or, for instance operations, the instance's) id
  std::string ref;           // backtrack: its BacktrackIdentifier; clone: the source cluster;
                             // peer_clone: "<peer>:<source cluster>";
                             // modify: the metadata it writes (ModifyChangeText, then
                             // ",pgroup=NAME" when it gives the cluster a parameter group)
  int64_t arg_ns = 0;        // backtrack: BacktrackTo; clone: the moment of the source
  OpState state = OpState::kRunning;
  OpStep step = OpStep::kRequested;  // the last step done
  int64_t volume_id = 0;             // create/clone: the volume made
  int64_t timeline_before = 0;       // backtrack: the head when asked
  int64_t timeline_after = 0;        // backtrack: the head it made
  std::string message;               // why it failed
  int64_t started_ns = 0;
  int64_t updated_ns = 0;
};

class OpJournal {
 public:
  explicit OpJournal(MetaDb* meta) : meta_(meta) {}

  // Records `op` (state running, its step as given) and sets op->id. IOError from SQLite:
  // then the operation must not start.
  Status Begin(Operation* op);
  // Records that `op` reached `step` (with the result fields already set in *op).
  Status Step(Operation* op, OpStep step);
  // Records the end: done, or failed with `message`.
  Status Finish(Operation* op, OpState state, const std::string& message = "");
  // Every operation still running (what a crash cut short), oldest first.
  Result<std::vector<Operation>> Unfinished();
  // The last `limit` operations on `target`, newest first.
  Result<std::vector<Operation>> History(const std::string& target, int limit);

 private:
  MetaDb* meta_;
};

}  // namespace rwd::cluster
