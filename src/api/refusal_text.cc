#include "api/refusal_text.h"

#include <string>

#include "api/rds_handler.h"
#include "api/timeparse.h"

namespace rwd::api {

using cluster::ClusterStatus;
using cluster::Field;
using cluster::Reason;
using cluster::RefusalDetail;
using cluster::RefusalItem;

std::string_view FieldWireName(Field field) {
  // No default: a new field fails the build (-Wswitch) until it has its name.
  switch (field) {
    case Field::kNone: return "";
    case Field::kClusterId: return "DBClusterIdentifier";
    case Field::kInstanceId: return "DBInstanceIdentifier";
    case Field::kInstanceClass: return "DBInstanceClass";
    case Field::kSnapshotId: return "DBClusterSnapshotIdentifier";
    case Field::kFinalSnapshotId: return "FinalDBSnapshotIdentifier";
    case Field::kTargetSnapshotId: return "TargetDBClusterSnapshotIdentifier";
    case Field::kEngine: return "Engine";
    case Field::kEngineVersion: return "EngineVersion";
    case Field::kDatabaseName: return "DatabaseName";
    case Field::kBacktrackWindow: return "BacktrackWindow";
    case Field::kBacktrackTo: return "BacktrackTo";
    case Field::kStartTime: return "StartTime";
    case Field::kEndTime: return "EndTime";
    case Field::kStep: return "Step";
    case Field::kRestoreType: return "RestoreType";
    case Field::kRestoreToTime: return "RestoreToTime";
    case Field::kMasterUsername: return "MasterUsername";
    case Field::kMasterPassword: return "MasterUserPassword";
    case Field::kPort: return "Port";
    case Field::kTags: return "Tags";
    case Field::kClusterParamGroup: return "DBClusterParameterGroupName";
    case Field::kInstanceParamGroup: return "DBParameterGroupName";
    case Field::kParamGroupFamily: return "DBParameterGroupFamily";
    case Field::kDescription: return "Description";
    case Field::kParameters: return "Parameters";
    case Field::kTable: return "TableName";
    case Field::kDiffFormat: return "Format";
    case Field::kIdleMinutes: return "IdleMinutes";
    case Field::kSql: return "Sql";
    case Field::kMoment: return "Time";
  }
  return "";
}

namespace {

std::string Iso(int64_t ns) { return FormatIso8601(ns, 0); }

std::string Word(const RefusalDetail& d) {
  return d.cluster_status ? std::string(AuroraStatusWord(*d.cluster_status)) : "unknown";
}
std::string InstanceWord(const RefusalDetail& d) {
  return d.instance_status ? std::string(AuroraStatusWord(*d.instance_status)) : "unknown";
}

// What a refusal on a cluster in a stopped (stopping, starting) state adds to say what to do.
std::string StoppedHint(const RefusalDetail& d) {
  if (!d.cluster_status) return "";
  switch (*d.cluster_status) {
    case ClusterStatus::kStopped:
      return " It is stopped: start it first (StartDBCluster) and wait until it is available.";
    case ClusterStatus::kStopping:
      return " It is stopping: wait until it is stopped, then start it (StartDBCluster).";
    case ClusterStatus::kStarting: return " It is starting: wait until it is available.";
    default: return "";
  }
}

// "DB cluster c1 is stopped": the opening of most state refusals.
std::string ClusterIs(const RefusalDetail& d) { return "DB cluster " + d.id + " is " + Word(d); }

// A kParamValue* reason: what the value must be.
std::string ValueRule(const RefusalItem& it) {
  switch (it.reason) {
    case Reason::kParamValueCharacters:
      return "may hold only letters, digits and _ . , : + - (1 to 1024 characters)";
    case Reason::kParamValueBoolean: return "must be 0 or 1";
    case Reason::kParamValueInteger: return "must be a whole number";
    case Reason::kParamValueNumber: return "must be a number";
    case Reason::kParamValueRange: return "must be in the range " + it.other;
    case Reason::kParamValueListMember: return "has " + it.part + ", not one of " + it.other;
    case Reason::kParamValueListEmpty: return "must list members of " + it.other;
    case Reason::kParamValueTimeZone:
      return "must be SYSTEM or an offset from -12:59 to +13:00, such as +01:00";
    case Reason::kParamValueUnknown: return "is not one the engine knows";
    case Reason::kParamValueNotOneOf: return "must be one of " + it.other;
    default: return "is not valid";
  }
}

// One parameter's problem in kParametersInvalid.
std::string ParameterProblem(const RefusalItem& it) {
  switch (it.reason) {
    case Reason::kParamNoneGiven: return "no parameter is given (Parameters)";
    case Reason::kParamNoName: return "a parameter has no ParameterName";
    case Reason::kParamRepeated: return it.name + " is given more than once";
    case Reason::kParamNotModifiable:
      return it.name + " is not a modifiable parameter of " + it.other +
             " (describe the group's parameters for the list; variables that name files, "
             "directories, plugins or start-up SQL are never settable)";
    case Reason::kParamStaticImmediate:
      return it.name + " is static: ApplyMethod immediate cannot be used, use pending-reboot";
    case Reason::kParamNoValue: return it.name + " has no ParameterValue";
    case Reason::kParamNoApplyMethod:
      return it.name + " has no ApplyMethod (immediate or pending-reboot)";
    default: return it.name + " = " + it.value + ": the value " + ValueRule(it);
  }
}

std::string Joined(const std::vector<RefusalItem>& items, const char* sep,
                   std::string (*one)(const RefusalItem&)) {
  std::string s;
  for (const RefusalItem& it : items) s += (s.empty() ? "" : sep) + one(it);
  return s;
}

std::string Bond(const RefusalItem& it) { return it.name + " (constraint " + it.other + ")"; }

// The reasons about inputs and resources that exist or not.
std::string InputText(const RefusalDetail& d, const std::string& f) {
  switch (d.reason) {
    case Reason::kClusterNotFound: return "DBCluster " + d.input + " not found.";
    case Reason::kPeerNotFound:
      return "DBCluster " + d.id + " of account " + d.input + " not found: " +
             (d.other.empty()
                  ? "this rewindd has no peers (rewindd --peer-object-store NAME=s3://BUCKET/PREFIX "
                    "makes NAME one); give this node's own ARN or the cluster's identifier."
                  : "account " + d.input + " is neither this node's nor a peer's; the peers "
                    "(rewindd --peer-object-store) are: " + d.other + ".");
    case Reason::kPeerClusterNotFound:
      return "DBCluster " + d.input + " not found in the bucket of peer " + d.other +
             (d.cause.empty() ? " (its metadata as last shipped)." : ": " + d.cause);
    case Reason::kInstanceNotFound: return "DBInstance " + d.input + " not found.";
    case Reason::kSnapshotNotFound: return "DBClusterSnapshot " + d.input + " not found.";
    case Reason::kBacktrackNotFound:
      return "Backtrack " + d.input + " not found for DB cluster " + d.id + ".";
    case Reason::kTimeTravelNotFound:
      return "Time-travel instance " + d.input + " of DB cluster " + d.id +
             " not found; `rewind time-travel " + d.id + " --list` lists them.";
    case Reason::kParamGroupNotFound:
      return std::string(d.field == Field::kClusterParamGroup ? "DBClusterParameterGroup "
                                                              : "DBParameterGroup ") +
             d.input + " not found.";
    case Reason::kClusterExists: return "DB cluster already exists";
    case Reason::kInstanceExists: return "DB instance already exists";
    case Reason::kSnapshotExists:
      return "Cannot create the snapshot because a snapshot with the identifier " + d.id +
             " already exists.";
    case Reason::kParamGroupExists: return "Parameter group " + d.id + " already exists.";
    case Reason::kIdentifierInvalid:
      return "The parameter " + f +
             " is not a valid identifier. Identifiers must begin with a letter; must contain "
             "only ASCII letters, digits, and hyphens; and must not end with a hyphen or "
             "contain two consecutive hyphens.";
    case Reason::kEngineUnsupported:
      return "Invalid DB engine: " + d.input +
             ". Rewind serves Engine aurora-mysql (MariaDB underneath).";
    case Reason::kEngineVersionUnknown:
      return "Cannot find version " + d.input + " for aurora-mysql";
    case Reason::kDatabaseNameInvalid:
      return f + " must be 1 to 64 letters, digits or underscores, starting with a letter.";
    case Reason::kWindowOutOfRange:
      return f + " must be from 0 to " + std::to_string(d.number) +
             " seconds (a year; the history budget bounds it).";
    case Reason::kMissingField: return "The request must contain the parameter " + f + ".";
    case Reason::kTooManyTags:
      return "A resource can have at most " + std::to_string(d.number) +
             " tags; this request would give it " + std::to_string(d.number2) + ".";
    case Reason::kTagKeyLength:
      return "Tag key " + d.input + " is invalid: a tag key must be 1 to 128 characters long.";
    case Reason::kTagKeyReserved:
      return "Tag key " + d.input + " is invalid: tag keys may not start with 'aws:' or 'rds:'.";
    case Reason::kTagValueLength:
      return "The value of tag " + d.input +
             " is invalid: a tag value must be at most 256 characters long.";
    case Reason::kTagCharacters:
      return "Tag " + d.input +
             " is invalid: tag keys and values may contain only letters, digits, white space "
             "and _ . : / = + - @.";
    case Reason::kMasterUsernameMissing:
      return "The parameter " + f + " must be provided and must not be blank.";
    case Reason::kMasterUsernameInvalid:
      return f + " " + d.input +
             " is invalid: it must be 1 to 16 letters, digits or underscores, starting with a "
             "letter.";
    case Reason::kMasterUsernameReserved:
      return f + " " + d.input + " cannot be used as it is a reserved word used by the engine";
    case Reason::kPasswordLength:
      return "The parameter " + f +
             " is not a valid password because it is shorter than 8 characters or longer "
             "than 41.";
    case Reason::kPasswordCharacters:
      return "The parameter " + f +
             " is not a valid password. Only printable ASCII characters besides '/', '@', "
             "'\"', ' ' may be used.";
    case Reason::kPortOutOfRange:
      return "Invalid port " + std::to_string(d.number) + ": the port must be from 1150 to 65535.";
    case Reason::kPortTaken:
      return "Port " + std::to_string(d.number) + " is already the port of another DB cluster.";
    case Reason::kRestoreTypeFullCopy:
      return "RestoreType full-copy is not supported by Rewind: only copy-on-write is served; "
             "give --restore-type copy-on-write.";
    case Reason::kRestoreTypeInvalid:
      return "Invalid RestoreType " + d.input + ": Rewind serves copy-on-write.";
    case Reason::kRestoreTimeChoice:
      return "Give exactly one of RestoreToTime and UseLatestRestorableTime.";
    case Reason::kParamGroupNameInvalid:
      return f + " " + d.input +
             " is not valid: 1 to 255 letters, digits or hyphens, starting with a letter, not "
             "ending with a hyphen nor containing two consecutive hyphens.";
    case Reason::kParamGroupNameReserved:
      return f + " " + d.input +
             " is reserved: names starting with default. belong to the default groups.";
    case Reason::kParamFamilyUnsupported:
      return f + " " + d.input +
             " is not supported: the engine is aurora-mysql (Aurora MySQL 3), family " + d.other +
             ".";
    case Reason::kParamFamilyUnknown:
      return f + " " + d.input + " is not supported: the family is " + d.other + ".";
    case Reason::kDescriptionLength:
      return f + " must be 1 to " + std::to_string(d.number) + " characters.";
    case Reason::kResetBoth: return "Give either ResetAllParameters or Parameters, not both.";
    case Reason::kResetNothing: return "Give ResetAllParameters true, or the Parameters to reset.";
    case Reason::kParametersInvalid:
      return "Invalid parameters: " + Joined(d.items, "; ", ParameterProblem) + ".";
    case Reason::kIdleOutOfRange:
      return "The idle time must be from 1 to 1440 minutes, not " + std::to_string(d.number) +
             ".";
    case Reason::kSqlEmpty: return "The SQL to run is empty.";
    case Reason::kDiffFormatInvalid: return "Format: " + d.cause + ".";
    case Reason::kTableNameCharacters:
      return "Table name '" + d.input +
             "' is not DB.TABLE: quote names with other characters in backticks.";
    case Reason::kTableNameUnclosed:
      return "Table name '" + d.input + "' has an unclosed `: give DB.TABLE.";
    case Reason::kTableNameShape:
      return "Table name '" + d.input + "' must be DB.TABLE, e.g. mylab.sbtest1.";
    case Reason::kTableNamePartLength:
      return "A name in '" + d.input + "' is over " + std::to_string(d.number) + " characters.";
    default: return "";
  }
}

// The reasons about states: of clusters, instances, snapshots and groups.
std::string StateText(const RefusalDetail& d) {
  switch (d.reason) {
    case Reason::kDeletionProtected:  // Aurora's own words
      return "Cannot delete protected Cluster, please disable deletion protection and try again.";
    case Reason::kFinalSnapshotRequired:
      return "FinalDBSnapshotIdentifier is required unless SkipFinalSnapshot is specified.";
    case Reason::kFinalSnapshotWithSkip:
      return "FinalDBSnapshotIdentifier can not be specified when SkipFinalSnapshot is true.";
    case Reason::kClusterHasInstances:
      return std::string(
                 "Cluster cannot be deleted, it still contains DB instances in non-deleting "
                 "state.") +
             (d.cluster_status == ClusterStatus::kStopped
                  ? " It is stopped: start it (StartDBCluster), delete its instances, then the "
                    "cluster."
                  : "");
    case Reason::kInstanceWithoutCluster:
      return "An aurora-mysql DB instance must belong to a DB cluster: give DBClusterIdentifier.";
    case Reason::kInstanceEngineMismatch:
      return "The engine name requested for your DB instance (" + d.input +
             ") doesn't match the engine name of your DB cluster (" + d.other + ").";
    case Reason::kSnapshotEngineMismatch:
      return "Engine " + d.input + " does not match the snapshot's (" + d.other + ").";
    case Reason::kSnapshotVersionMismatch:
      return "EngineVersion " + d.input + " is not the snapshot's (" + d.other +
             "): Rewind restores a snapshot with its own version.";
    case Reason::kClusterNotModifiable:
      return ClusterIs(d) + "; it can be modified when it is available." + StoppedHint(d);
    case Reason::kClusterNotDeletable: return ClusterIs(d) + "; it cannot be deleted now.";
    case Reason::kClusterNotAvailable: return ClusterIs(d) + ".";
    case Reason::kClusterStoppedForInstances:
      return ClusterIs(d) + "; instances can be added when it is available." + StoppedHint(d);
    case Reason::kClusterNotBacktrackable:
      return ClusterIs(d) + "; it can be backtracked when it is available." + StoppedHint(d);
    case Reason::kClusterNotStoppable:
      return ClusterIs(d) + "; it can be stopped when it is available." + StoppedHint(d);
    case Reason::kClusterNotStartable:
      return ClusterIs(d) + "; only a stopped cluster can be started." +
             (d.cluster_status == ClusterStatus::kStopping ? " Wait until it is stopped." : "");
    case Reason::kClusterNotSnapshottable:
      return ClusterIs(d) + "; a snapshot can be taken when it is available." + StoppedHint(d);
    case Reason::kSourceNotClonable:
      return "Source " + ClusterIs(d) + "; it can be cloned when it is available or stopped.";
    case Reason::kPeerCloneSource:
      return "DB cluster " + d.id + " is a clone of a peer's cluster: it cannot be cloned or "
             "snapshotted on this node (its history is the peer's, kept there only while the "
             "clone lives); clone the peer's cluster again instead.";
    case Reason::kPastNotReadable:
      return ClusterIs(d) + "; its past can be read when it is available." + StoppedHint(d);
    case Reason::kActivityNoStorage:
      return ClusterIs(d) + "; its activity can be described once its storage exists.";
    case Reason::kWriterNotAvailable:
      return "The writer instance " + d.other + " of DB cluster " + d.id + " is " +
             InstanceWord(d) + "; add a reader once it is available.";
    case Reason::kNoRunningWriter:
      return "DB cluster " + d.id + " has no running writer instance to change the password on.";
    case Reason::kRestoreNeedsWriter:
      return "DB cluster " + d.id +
             " has no running writer instance: a table is restored into the live cluster; "
             "create or reboot its instance first.";
    case Reason::kInstanceAlreadyDeleting:
      return "DB instance " + d.id + " is already being deleted.";
    case Reason::kInstanceDeleteWhileBacktracking:
      return "DB instance " + d.id + " cannot be deleted while its cluster backtracks.";
    case Reason::kInstanceDeleteWhileStopped:
      return "DB instance " + d.id + " cannot be deleted while its cluster " + d.other + " is " +
             Word(d) + "." + StoppedHint(d);
    case Reason::kInstanceDeleteWhileFailingOver:
      return "DB instance " + d.id +
             " cannot be deleted while its cluster fails over; wait until it is available.";
    case Reason::kWriterDeleteNoReaderAvailable:
      return "DB instance " + d.id + " is the writer of DB cluster " + d.other +
             ": it is deleted after a failover to one of its readers, and none is available "
             "now. Delete it once a reader is available, or delete the readers first.";
    case Reason::kClusterNotFailoverable:
      return ClusterIs(d) + "; it can fail over when it is available." + StoppedHint(d);
    case Reason::kNoWriterToFailOver:
      return "DB cluster " + d.id + " has no writer instance to fail over from.";
    case Reason::kWriterBusyForFailover:
      return "The writer instance " + d.id + " of DB cluster " + d.other + " is " +
             InstanceWord(d) + "; fail over once it is available.";
    case Reason::kTargetNotMember:
      return "DB instance " + d.id + " is not a member of DB cluster " + d.other +
             "; name one of its readers.";
    case Reason::kTargetIsWriter:
      return "DB instance " + d.id + " is already the writer of DB cluster " + d.other +
             "; name one of its readers.";
    case Reason::kTargetNotAvailable:
      return "DB instance " + d.id + " is " + InstanceWord(d) +
             "; a reader can be promoted when it is available.";
    case Reason::kNoReaderToFailOver:
      return "DB cluster " + d.id +
             " has no reader instance to fail over to: add one (CreateDBInstance) first.";
    case Reason::kNoAvailableReader:
      return "None of the readers of DB cluster " + d.id + " is available; fail over once one is.";
    case Reason::kInstanceNotRebootable:
      return "DB instance " + d.id + " is " + InstanceWord(d) +
             "; it can be rebooted when it is available or failed." + StoppedHint(d);
    case Reason::kInstanceRebootClusterState:
      return "DB instance " + d.id + " cannot be rebooted while its cluster is " + Word(d) + ".";
    case Reason::kInstanceBlocksStop:
      return "DB instance " + d.id + " is " + InstanceWord(d) +
             "; the cluster can be stopped when it is available.";
    case Reason::kBacktrackNotEnabled:
      return "Backtrack is not enabled for DB cluster " + d.id + " (its BacktrackWindow is 0).";
    case Reason::kBacktrackEnableLater:
      return "Backtrack is not enabled for DB cluster " + d.id +
             ": it can only be turned on when the cluster is created.";
    case Reason::kAlreadyBacktracking:
      return "DB cluster " + d.id + " is already backtracking; wait until it is available.";
    case Reason::kSnapshotNotAvailable: return "DBClusterSnapshot " + d.id + " is " + d.state + ".";
    case Reason::kSnapshotQuota:
      return "Cannot create the snapshot of DB cluster " + d.id + ": the history budget (" +
             std::to_string(d.number) + " bytes) cannot hold it; delete snapshots or raise the "
             "budget.";
    case Reason::kDefaultParamGroupModify:
    case Reason::kDefaultParamGroupDelete:
      return std::string("Default parameter groups cannot be ") +
             (d.reason == Reason::kDefaultParamGroupModify ? "modified" : "deleted") + ": " +
             d.id + ". Create a parameter group of family " + d.other + " and use it instead.";
    case Reason::kParamGroupInUse:
      return "Parameter group " + d.id + " is in use by DB cluster " + d.other +
             "; give that cluster (or instance) another group first.";
    default: return "";
  }
}

// The reasons about moments and tables.
std::string TimeText(const RefusalDetail& d, const std::string& f) {
  switch (d.reason) {
    case Reason::kTimeInFuture: return f + " is in the future: it must be a time before now.";
    case Reason::kTimeBeforeEarliest:
      if (d.field == Field::kBacktrackTo) {
        return f + " is before the earliest backtrack time of DB cluster " + d.id +
               "; give a later time, or UseEarliestTimeOnPointInTimeUnavailable to go there.";
      }
      return f + " is before the earliest time DB cluster " + d.id +
             " keeps (its EarliestRestorableTime); give a later time.";
    case Reason::kEndBeforeStart: return "EndTime is before StartTime.";
    case Reason::kStepInvalid: return f + " must be a whole number of seconds, at least 1.";
    case Reason::kStepRefused: return f + ": " + d.cause;
    case Reason::kRestoreTimeInFuture: return f + " is in the future.";
    case Reason::kRestoreTimeAfterPeerHead:
      return f + " " + Iso(d.time_ns) + " is after the newest state peer " + d.other +
             " has shipped to its bucket (" + Iso(d.time2_ns) +
             "); give a time up to then, or UseLatestRestorableTime.";
    case Reason::kRestoreTimeBeforeEarliest:
      return f + " is before the earliest restorable time of DB cluster " + d.id + ".";
    case Reason::kMomentInFuture:
      return "The time " + Iso(d.time_ns) + " is in the future; give a time from " +
             Iso(d.time2_ns) + " to now.";
    case Reason::kMomentBeforeEarliest:
      return "The time " + Iso(d.time_ns) + " is before the earliest time DB cluster " + d.id +
             " keeps (" + Iso(d.time2_ns) + "); give a time from then to now.";
    case Reason::kTableDidNotExist:
      return "Table " + d.id + " did not exist at " + Iso(d.time_ns) +
             "; give a time when it existed.";
    case Reason::kTableUnknown:
      return "Table " + d.id + " is unknown at " + Iso(d.time_ns) +
             " (and now): check DB.TABLE and the time.";
    case Reason::kBoundTableDidNotExist:
      return "Table " + d.id + ", bound to " + d.other + " by a foreign key, did not exist at " +
             Iso(d.time_ns) + ": restore by hand or drop its foreign key first.";
    case Reason::kNotBaseTable:
      return d.id + " is a " + d.state + " at " + Iso(d.time_ns) +
             ", not a table: only base tables are restored.";
    case Reason::kTooManyBoundTables:
      return "More than " + std::to_string(d.number) + " tables are bound by foreign keys to " +
             d.id + ".";
    case Reason::kTableBound:
      return "Table " + d.id + " is bound by foreign keys to " + Joined(d.items, ", ", Bond) +
             "; restore them together with --with-related (RestoreRelatedTables), or drop those "
             "foreign keys first.";
    case Reason::kBoundTablesDiffer:
      return "The tables bound to " + d.id +
             " by foreign keys can be restored together only when each exists now with the "
             "definition it had at " + Iso(d.time_ns) +
             ", in InnoDB; restore by hand, or drop the foreign keys first.";
    case Reason::kBoundTablesSpanDatabases:
      return "The tables bound to " + d.id +
             " by foreign keys span several databases; restore by hand.";
    case Reason::kNotATableAtEither:
      return "Table " + d.id + " is not a table at " + Iso(d.time_ns) + " nor at " +
             Iso(d.time2_ns) + ": check DB.TABLE.";
    case Reason::kDiffTooLarge:
      return "The diff is over " + std::to_string(d.number >> 20) +
             " MiB; narrow it with --table DB.TABLE or a shorter interval.";
    case Reason::kStatementFailed:
      return "The statement failed on the state of " + d.id + " at " + Iso(d.time_ns) + ": " +
             d.cause;
    default: return "";
  }
}

}  // namespace

std::string RefusalText(const RefusalDetail& d) {
  const std::string f(FieldWireName(d.field));
  std::string text = InputText(d, f);
  if (text.empty()) text = StateText(d);
  if (text.empty()) text = TimeText(d, f);
  if (text.empty() && d.reason >= Reason::kParamNoneGiven) {
    // One parameter's problem refused alone.
    text = "Invalid parameters: " + ParameterProblem(RefusalItem{d.reason, d.input, "", d.other,
                                                                 ""}) + ".";
  }
  return text.empty() ? "The request was refused." : text;
}

std::string StatusText(const Status& status) {
  std::optional<cluster::RefusalDetail> refusal = cluster::RefusalOf(status);
  return refusal ? RefusalText(*refusal) : status.message();
}

}  // namespace rwd::api
