// Named failpoints: places where a test makes the process die as in a crash (SIGKILL to
// itself: no destructor, no flush, no unmount), to check that the operation around it is whole
// or not at all once the process is started again.
//
// Armed from the environment at the first check: REWIND_FAILPOINTS="name[,name…]". Unarmed,
// a failpoint costs one relaxed atomic load. Names in use (grep Failpoint\(" for the list):
//   cluster.create.volume_made        the new cluster's volume made and journaled, no database
//   cluster.create.initialized        its database made and synced, status still "creating"
//   cluster.backtrack.before_rewind   engine stopped and unmounted (step halted), the store
//                                     not yet rewound
//   cluster.backtrack.after_rewind    the store rewound (step rebranched), SQLite's backtrack
//                                     row and cluster status not yet told
//   cluster.backtrack.serving         the new head mounted and served, nothing recorded yet
//   cluster.clone.before_store_clone  the clone's row is in SQLite, the store has no volume
//   cluster.clone.after_store_clone   the store cloned, nothing mounted or started
//   cluster.clone.prepared            the clone mounted, its run dir seeded, still "creating"
//   cluster.delete.halted             engine stopped and unmounted, the volume still there
//   cluster.delete.volume_deleted     the volume deleted, the cluster's row still there
//   cluster.delete_instance.halted    the writer's engine stopped, its row still there
//   cluster.create_instance.started   the writer's engine serves, its status not yet recorded
//   cluster.reboot.restarted          the writer restarted, its status not yet recorded
//   cluster.modify.password_set       the master password changed, the row not yet written
//   cluster.peer_clone.view_ready     a peer clone's view built or found, nothing stored yet
//   cluster.peer_clone.requested      its row and journal entry written, nothing else done
//   cluster.peer_clone.pinned         its pin written in the peer's bucket, no volume yet
//   cluster.peer_clone.volume_made    its volume made (Store::CloneForeign), nothing mounted
//   cluster.peer_clone.prepared       mounted, its run dir seeded, still "creating"
// (Each cluster step is recorded in the operations journal first: src/cluster/op_journal.h.)
//   store.append.torn                 half of a record written to the log
//   store.clean.after_rewrite         a cleaned segment renamed into place, no checkpoint yet
//   store.pin.before_sync             a pin's record written to the log, not yet synced
//   store.pin.unpin_before_sync       an unpin's record written to the log, not yet synced
//   store.pin.copy_before_sync        a pin copy's record written to the log, not yet synced
//
// Thread safety: may be called from any thread.
#pragma once

#include <string_view>

namespace rwd {

// True if `name` is armed.
bool FailpointArmed(std::string_view name);

// If `name` is armed: says so on stderr and kills the process with SIGKILL. Never returns then.
void Failpoint(std::string_view name);

}  // namespace rwd
