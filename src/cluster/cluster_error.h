// The cluster service's refusals, typed. Every request the service refuses returns a non-OK
// Status made by Refuse: its code is the generic one (NotFound, AlreadyExists,
// FailedPrecondition, InvalidArgument), ErrorKindOf gives the precise kind back, and RefusalOf
// the whole account: why (a Reason), which input (a Field, in the domain's words) and the values
// a message needs (ids, states, times, limits). No English and no wire names here: the texts a
// user reads, the AWS fault codes, the HTTP statuses and the request parameters' names are the
// API layer's business (src/api/refusal_text.h, src/api/rds_handler.cc).
//
// The Status's own message is a diagnostic for logs ("refused: kind/reason id=..."), not a text
// for users.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cluster/states.h"
#include "common/status.h"

namespace rwd::cluster {

enum class ClusterError {
  kClusterNotFound,       // no DB cluster of that id
  kInstanceNotFound,      // no DB instance of that id
  kBacktrackNotFound,     // no backtrack of that id on the cluster
  kClusterExists,         // a DB cluster of that id exists
  kInstanceExists,        // a DB instance of that id exists
  kInvalidClusterState,   // the cluster's state forbids it now (the detail says which state)
  kInvalidInstanceState,  // the instance's (or its cluster's) state forbids it now
  kInvalidParameter,      // a parameter's value is invalid (the detail names it)
  kInvalidCombination,    // parameters that do not go together (or with the resource)
  kMissingParameter,      // a required parameter is missing (the detail names it)
  kInvalidRestore,        // a clone's moment is outside what the source keeps
  kTimeTravelNotFound,    // no time-travel instance of that id (src/cluster/time_travel.h)
  kSnapshotNotFound,      // no DB cluster snapshot of that id
  kSnapshotExists,        // a DB cluster snapshot of that id exists
  kInvalidSnapshotState,  // the snapshot's state forbids it now
  kSnapshotQuota,         // the history budget cannot hold another snapshot
  kParamGroupNotFound,    // no parameter group of that name (of the kind asked)
  kParamGroupExists,      // a parameter group of that name exists
  kInvalidParamGroupState,  // in use, or a default group (which cannot change)
};

// The inputs a refusal can concern, in the domain's words (the API layer names them on the wire).
#define RWD_REFUSAL_FIELDS(X)                                                                  \
  X(kNone) X(kClusterId) X(kInstanceId) X(kInstanceClass) X(kSnapshotId) X(kFinalSnapshotId)  \
  X(kTargetSnapshotId) X(kEngine) X(kEngineVersion) X(kDatabaseName) X(kBacktrackWindow)      \
  X(kBacktrackTo) X(kStartTime) X(kEndTime) X(kStep) X(kRestoreType) X(kRestoreToTime)        \
  X(kMasterUsername) X(kMasterPassword) X(kPort) X(kTags) X(kClusterParamGroup)               \
  X(kInstanceParamGroup) X(kParamGroupFamily) X(kDescription) X(kParameters) X(kTable)        \
  X(kDiffFormat) X(kIdleMinutes) X(kSql) X(kMoment)

// Why a request was refused: one value per distinct situation. The comment says which values of
// RefusalDetail the reason fills (besides kind and field).
#define RWD_REFUSAL_REASONS(X)                                                                 \
  /* not found / exists: input = the id asked (bounded); id = the cluster for backtracks */    \
  X(kClusterNotFound) X(kInstanceNotFound) X(kSnapshotNotFound) X(kBacktrackNotFound)         \
  X(kTimeTravelNotFound) X(kParamGroupNotFound) X(kClusterExists) X(kInstanceExists)           \
  X(kSnapshotExists) X(kParamGroupExists)                                                     \
  /* peers: input = the peer asked (kPeerNotFound; other = the configured peers, ", ") or */   \
  /* the cluster asked (kPeerClusterNotFound; other = the peer); id = the source cluster */     \
  X(kPeerNotFound) X(kPeerClusterNotFound)                                                    \
  /* input rules: field; input = the value */                                                 \
  X(kIdentifierInvalid) X(kEngineUnsupported) X(kEngineVersionUnknown) X(kDatabaseNameInvalid) \
  X(kWindowOutOfRange) X(kMissingField) X(kTooManyTags) X(kTagKeyLength) X(kTagKeyReserved)   \
  X(kTagValueLength) X(kTagCharacters) X(kMasterUsernameMissing) X(kMasterUsernameInvalid)     \
  X(kMasterUsernameReserved) X(kPasswordLength) X(kPasswordCharacters) X(kPortOutOfRange)     \
  X(kPortTaken) X(kRestoreTypeFullCopy) X(kRestoreTypeInvalid) X(kRestoreTimeChoice)          \
  X(kParamGroupNameInvalid) X(kParamGroupNameReserved) X(kParamFamilyUnsupported)             \
  X(kParamFamilyUnknown) X(kDescriptionLength) X(kResetBoth) X(kResetNothing)                 \
  X(kParametersInvalid) X(kIdleOutOfRange) X(kSqlEmpty) X(kDiffFormatInvalid)                 \
  X(kTableNameCharacters) X(kTableNameUnclosed) X(kTableNameShape) X(kTableNamePartLength)     \
  /* deletion and instances */                                                                \
  X(kDeletionProtected) X(kFinalSnapshotRequired) X(kFinalSnapshotWithSkip)                   \
  X(kClusterHasInstances) X(kInstanceWithoutCluster) X(kInstanceEngineMismatch)               \
  X(kSnapshotEngineMismatch) X(kSnapshotVersionMismatch)                                      \
  /* states: id; cluster_status / instance_status / state */                                   \
  X(kClusterNotModifiable) X(kClusterNotDeletable) X(kClusterNotAvailable)                    \
  X(kClusterStoppedForInstances) X(kClusterNotBacktrackable) X(kClusterNotStoppable)          \
  X(kClusterNotStartable) X(kClusterNotSnapshottable) X(kSourceNotClonable)                   \
  X(kPastNotReadable) X(kActivityNoStorage) X(kWriterNotAvailable) X(kNoRunningWriter)         \
  X(kRestoreNeedsWriter) X(kInstanceAlreadyDeleting)             \
  /* kPeerCloneSource: id = a peer clone asked to be cloned or snapshotted here */            \
  X(kPeerCloneSource)                                                                         \
  X(kInstanceDeleteWhileBacktracking) X(kInstanceDeleteWhileStopped)                         \
  X(kInstanceDeleteWhileFailingOver) X(kWriterDeleteNoReaderAvailable)                       \
  /* failover: id = the cluster or instance refused, other = its cluster */                  \
  X(kClusterNotFailoverable) X(kNoWriterToFailOver) X(kWriterBusyForFailover)                \
  X(kTargetNotMember) X(kTargetIsWriter) X(kTargetNotAvailable) X(kNoReaderToFailOver)       \
  X(kNoAvailableReader)                                                                      \
  X(kInstanceNotRebootable) X(kInstanceRebootClusterState) X(kInstanceBlocksStop)             \
  X(kBacktrackNotEnabled) X(kBacktrackEnableLater) X(kAlreadyBacktracking)                    \
  X(kSnapshotNotAvailable) X(kSnapshotQuota) X(kDefaultParamGroupModify)                      \
  X(kDefaultParamGroupDelete) X(kParamGroupInUse)                                             \
  /* moments: field; time_ns = the moment asked, time2_ns = the earliest kept */              \
  X(kTimeInFuture) X(kTimeBeforeEarliest) X(kEndBeforeStart) X(kStepInvalid) X(kStepRefused)  \
  X(kRestoreTimeInFuture) X(kRestoreTimeBeforeEarliest) X(kMomentInFuture)                    \
  X(kMomentBeforeEarliest)                                                                    \
  /* kRestoreTimeAfterPeerHead: time2_ns = the newest moment the peer shipped, other = peer */ \
  X(kRestoreTimeAfterPeerHead)                                                                \
  /* tables (time travel): id = DB.TABLE, other = the table it is bound to, time_ns */          \
  X(kTableDidNotExist) X(kTableUnknown) X(kBoundTableDidNotExist) X(kNotBaseTable)             \
  X(kTooManyBoundTables) X(kTableBound) X(kBoundTablesDiffer) X(kBoundTablesSpanDatabases)     \
  X(kNotATableAtEither) X(kDiffTooLarge) X(kStatementFailed)                                   \
  /* one parameter's problem in kParametersInvalid's items */                                  \
  X(kParamNoneGiven) X(kParamNoName) X(kParamRepeated) X(kParamNotModifiable)                 \
  X(kParamStaticImmediate) X(kParamNoValue) X(kParamNoApplyMethod) X(kParamValueCharacters)   \
  X(kParamValueBoolean) X(kParamValueInteger) X(kParamValueNumber) X(kParamValueRange)        \
  X(kParamValueListMember) X(kParamValueListEmpty) X(kParamValueTimeZone)                     \
  X(kParamValueUnknown) X(kParamValueNotOneOf)

#define RWD_REFUSAL_ENUMERATOR(name) name,
enum class Field { RWD_REFUSAL_FIELDS(RWD_REFUSAL_ENUMERATOR) };
enum class Reason { RWD_REFUSAL_REASONS(RWD_REFUSAL_ENUMERATOR) };
#undef RWD_REFUSAL_ENUMERATOR

// How many there are, for code that walks them all (the renderer's test).
constexpr int kFieldCount = 0
#define RWD_REFUSAL_COUNT(name) +1
    RWD_REFUSAL_FIELDS(RWD_REFUSAL_COUNT);
constexpr int kReasonCount = 0 RWD_REFUSAL_REASONS(RWD_REFUSAL_COUNT);
#undef RWD_REFUSAL_COUNT

// Internal names for logs ("kBacktrackTo"); never shown to API users.
std::string_view FieldName(Field field);
std::string_view ReasonName(Reason reason);

// One thing among several refused together (a parameter of a group's change; a table bound by
// a foreign key).
struct RefusalItem {
  Reason reason = Reason::kParamNoneGiven;  // what is wrong with it (the kParam* reasons)
  std::string name;                         // the parameter or table, bounded
  std::string value;                        // its value as given, bounded
  std::string other;                        // what it is checked against (the allowed values,
                                            // the family, the foreign key's constraint)
  std::string part;                         // the bad piece of the value (a list's member)
};

// A refusal's account. Members a reason does not use stay empty.
struct RefusalDetail {
  ClusterError kind = ClusterError::kInvalidParameter;
  Reason reason = Reason::kMissingField;
  Field field = Field::kNone;  // the input concerned
  std::string id;              // the resource refused (cluster, instance, snapshot, group, table)
  std::string other;           // a second resource or the value compared with (the cluster of
                               // an instance, a writer, a snapshot's engine, a group's family)
  std::string input;           // the caller's value as given, bounded (BoundedInput)
  std::optional<ClusterStatus> cluster_status;
  std::optional<InstanceStatus> instance_status;
  std::string state;           // a state kept as a word (a snapshot's; a table's type)
  int64_t time_ns = 0;         // the moment asked
  int64_t time2_ns = 0;        // a second moment (the earliest kept, the other end)
  int64_t number = 0;          // a limit or a number given
  int64_t number2 = 0;         // a second number (a count)
  std::string cause;           // a lower layer's own diagnostic (the engine's error, the
                               // store's, the diff format's), quoted as it is
  std::vector<RefusalItem> items;
};

// A refusal: `detail` with `kind` and `reason` set. The status's code follows the kind.
Status Refuse(ClusterError kind, Reason reason, RefusalDetail detail = {});
// The kind of a refusal made by Refuse; nullopt for any other status (I/O failures, ...).
std::optional<ClusterError> ErrorKindOf(const Status& status);
// The whole account of a refusal made by Refuse; nullopt for any other status.
std::optional<RefusalDetail> RefusalOf(const Status& status);

}  // namespace rwd::cluster
