// What happened to a cluster or instance, typed: the service records an event as a kind and a
// detail (a reason, a source cluster), never as text; src/api renders Aurora's message for each
// kind (RenderEventMessage). meta.db keeps kind and detail (events.kind, events.message);
// rows from before schema 4 are kMessage, their text in the detail.
#pragma once

#include <string>

namespace rwd::cluster {

enum class EventKind {
  kMessage = 0,                  // detail is the whole text (older rows; service-wide notices)
  kClusterCreated = 1,
  kClusterCreationFailed = 2,    // detail: why
  kClusterCreationInterrupted = 3,
  kClusterCloned = 4,            // detail: the source cluster's id
  kCloneFailed = 5,              // detail: why
  kClusterDeleted = 6,
  kClusterDeletionFailed = 7,    // detail: why
  kClusterModified = 8,
  kBacktrackStarted = 9,
  kBacktrackCompleted = 10,
  kBacktrackFailed = 11,         // detail: why
  kWindowCut = 12,               // the history budget cut the backtrack window below target
  kWindowBack = 13,              // the window is back to its target
  kInstanceCreated = 14,
  kInstanceStartFailed = 15,     // detail: why
  kInstanceRestarted = 16,       // RebootDBInstance
  kInstanceRestartFailed = 17,   // detail: why
  kInstanceRecovered = 18,       // a failed instance's engine started again by the retrier
  kInstanceRestartedAfterExit = 19,  // its engine died and was started again
  kInstanceDeleted = 20,
  kInstanceDeletionFailed = 21,  // detail: why
  kTableRestored = 22,           // detail: which tables, to when, how (TimeTravel::RestoreTable)
  kClusterStopped = 23,          // StopDBCluster done
  kClusterStarted = 24,          // StartDBCluster done
  kClusterStopFailed = 25,       // detail: why (the cluster serves on)
  kClusterStartFailed = 26,      // detail: why (the cluster stays stopped)
  kInstanceStopped = 27,         // its engine stopped with its cluster
  kInstanceStarted = 28,         // its engine started with its cluster
  // Reader instances (readers.cc): 35-39.
  kReaderCreated = 35,           // a reader instance serves and follows its writer
  kReaderCreationFailed = 36,    // detail: why
  kReaderReprovisioned = 37,     // re-cloned from the rewound head after a backtrack
  kReaderReprovisionFailed = 38, // detail: why
  kReaderDeleted = 39,
  // Failover (failover.cc): started, completed, failed, the old writer serving again (their
  // Aurora event ids are src/api's).
  kFailoverStarted = 40,         // detail: the instance being promoted
  kFailoverCompleted = 41,       // detail: the new writer
  kFailoverFailed = 42,          // detail: why
  kFailoverReverted = 43,        // detail: the previous writer, serving again
  kPromotedToWriter = 44,        // an instance's: it is the cluster's writer now
  // Peer clones (cluster_peer_clone.cc): 60-69. A failure is kCloneFailed.
  kPeerClusterCloned = 60,       // detail: "<peer>:<source cluster>"
};
inline constexpr int kMaxEventKind = 60;

// The source type ("db-cluster" or "db-instance") and the comma-separated event categories of
// an event of `kind` (kMessage: a cluster's, with the categories its caller gives).
const char* EventSourceType(EventKind kind);
const char* EventCategories(EventKind kind);

}  // namespace rwd::cluster
