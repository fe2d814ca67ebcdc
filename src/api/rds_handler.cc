#include "api/rds_handler.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <utility>

namespace rwd::api {
namespace {

using cluster::BacktrackView;
using cluster::ClusterView;
using cluster::EventView;
using cluster::InstanceView;

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// Checks that each named parameter, if present, is a boolean (the value is not used).
ApiStatus CheckBools(const FormParams& p, std::initializer_list<std::string_view> names) {
  for (std::string_view n : names) API_RETURN_IF_ERROR(p.GetBool(n));
  return ApiOk();
}

// MaxRecords, as every Describe action takes it (20..100 in RDS). Rewind never pages.
ApiStatus CheckMaxRecords(const FormParams& p) {
  API_RETURN_IF_ERROR(p.GetInt("MaxRecords", 20, 100));
  return ApiOk();
}

// An optional identifier parameter; an empty value counts as absent.
std::optional<std::string> OptionalId(const FormParams& p, std::string_view name,
                                      std::string_view arn_kind) {
  std::optional<std::string> v = p.Optional(name);
  if (!v || v->empty()) return std::nullopt;
  return IdentifierFromArn(*v, arn_kind);
}

ApiResult<std::string> RequiredId(const FormParams& p, std::string_view name,
                                  std::string_view arn_kind) {
  API_ASSIGN_OR_RETURN(std::string v, p.Required(name));
  return IdentifierFromArn(v, arn_kind);
}

ApiError NotSupported(std::string_view param, std::string_view why) {
  return ApiError::InvalidParameterValue("The parameter " + std::string(param) +
                                         " is not supported by Rewind: " + std::string(why));
}

// Lower-cases the values of identifier filters and strips ARNs, as RDS matches them.
void NormalizeIdFilters(FilterSet& set, std::string_view name, std::string_view arn_kind) {
  for (Filter& f : set.filters) {
    if (f.name != name) continue;
    for (std::string& v : f.values) v = Lower(IdentifierFromArn(v, arn_kind));
  }
}

ApiResponse Answer(std::string xml) {
  ApiResponse r;
  r.result_xml = std::move(xml);
  return r;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Errors.

int HttpStatusForRdsErrorCode(std::string_view code) {
  static constexpr std::array<std::string_view, 6> k403 = {
      "DBClusterQuotaExceededFault", "InsufficientDBClusterCapacityFault",
      "MissingAuthenticationToken",  "InvalidClientTokenId",
      "SignatureDoesNotMatch",       "RequestExpired"};
  if (std::find(k403.begin(), k403.end(), code) != k403.end()) return 403;
  if (EndsWith(code, "NotFound") || EndsWith(code, "NotFoundFault") ||
      code == "MalformedQueryString") {
    return 404;
  }
  if (code == "InternalFailure") return 500;
  if (code == "ServiceUnavailable") return 503;
  return 400;
}

ApiError ApiErrorFromClusterStatus(const Status& status) {
  if (status.tag().empty()) return ApiErrorFromStatus(status);
  return ApiError::Make(HttpStatusForRdsErrorCode(status.tag()), status.tag(), status.message());
}

std::string IdentifierFromArn(std::string_view value, std::string_view kind) {
  // arn:aws:rds:<region>:<account>:<kind>:<id>
  if (value.substr(0, 4) != "arn:") return std::string(value);
  size_t pos = 0;
  for (int i = 0; i < 5; ++i) {
    pos = value.find(':', pos);
    if (pos == std::string_view::npos) return std::string(value);
    ++pos;
  }
  std::string_view rest = value.substr(pos);
  if (rest.size() > kind.size() && rest.substr(0, kind.size()) == kind &&
      rest[kind.size()] == ':') {
    return std::string(rest.substr(kind.size() + 1));
  }
  return std::string(value);
}

// ---------------------------------------------------------------------------------------------
// Parsing.

bool FilterSet::Matches(std::string_view name, std::string_view value) const {
  for (const Filter& f : filters) {
    if (f.name != name) continue;
    if (std::find(f.values.begin(), f.values.end(), value) == f.values.end()) return false;
  }
  return true;
}

ApiResult<FilterSet> ParseFilters(const FormParams& params,
                                  const std::vector<std::string_view>& allowed) {
  API_ASSIGN_OR_RETURN(std::vector<Filter> filters, params.GetFilters());
  for (const Filter& f : filters) {
    if (std::find(allowed.begin(), allowed.end(), f.name) == allowed.end()) {
      std::string names;
      for (std::string_view a : allowed) names += (names.empty() ? "" : ", ") + std::string(a);
      return ApiError::InvalidParameterValue(
          "Unrecognized filter name: " + f.name +
          (names.empty() ? std::string(". This action takes no filters.")
                         : ". Supported filters: " + names + "."));
    }
    if (f.values.empty()) {
      return ApiError::InvalidParameterValue("The filter " + f.name +
                                             " must have at least one value (Values).");
    }
  }
  return FilterSet{std::move(filters)};
}

ApiResult<cluster::CreateClusterRequest> ParseCreateDBCluster(const FormParams& p) {
  cluster::CreateClusterRequest r;
  API_ASSIGN_OR_RETURN(r.id, p.Required("DBClusterIdentifier"));
  API_ASSIGN_OR_RETURN(r.engine, p.Required("Engine"));
  r.engine_version = p.Optional("EngineVersion");
  if (r.engine_version && r.engine_version->empty()) r.engine_version.reset();
  API_ASSIGN_OR_RETURN(std::optional<bool> manage_pw, p.GetBool("ManageMasterUserPassword"));
  if (manage_pw.value_or(false)) {
    return NotSupported("ManageMasterUserPassword",
                        "there is no Secrets Manager; give MasterUserPassword instead.");
  }
  API_ASSIGN_OR_RETURN(r.master_username, p.Required("MasterUsername"));
  API_ASSIGN_OR_RETURN(r.master_password, p.Required("MasterUserPassword"));
  r.database_name = p.GetOr("DatabaseName", "");
  API_ASSIGN_OR_RETURN(std::optional<int64_t> port, p.GetInt("Port", 0, 65535));
  if (port) r.port = static_cast<int>(*port);
  API_ASSIGN_OR_RETURN(std::optional<int64_t> window, p.GetInt("BacktrackWindow"));
  r.backtrack_window_s = window.value_or(0);
  if (std::optional<std::string> mode = p.Optional("EngineMode");
      mode && !mode->empty() && *mode != "provisioned") {
    return ApiError::InvalidParameterValue("Invalid EngineMode " + *mode +
                                           ": Rewind serves EngineMode provisioned.");
  }
  API_ASSIGN_OR_RETURN(std::optional<bool> encrypted, p.GetBool("StorageEncrypted"));
  if (encrypted.value_or(false)) {
    return NotSupported("StorageEncrypted", "storage is not encrypted; omit it or give false.");
  }
  for (std::string_view unsupported :
       {"ReplicationSourceIdentifier", "GlobalClusterIdentifier", "SnapshotIdentifier"}) {
    if (std::optional<std::string> v = p.Optional(unsupported); v && !v->empty()) {
      return NotSupported(unsupported, "it has no meaning on Rewind.");
    }
  }
  API_RETURN_IF_ERROR(CheckBools(
      p, {"DeletionProtection", "EnableIAMDatabaseAuthentication", "EnableHttpEndpoint",
          "CopyTagsToSnapshot", "EnableGlobalWriteForwarding", "PubliclyAccessible",
          "AutoMinorVersionUpgrade", "EnablePerformanceInsights"}));
  API_RETURN_IF_ERROR(p.GetInt("BackupRetentionPeriod"));
  API_RETURN_IF_ERROR(p.GetTags());
  return r;
}

ApiResult<cluster::ModifyClusterRequest> ParseModifyDBCluster(const FormParams& p) {
  cluster::ModifyClusterRequest r;
  API_ASSIGN_OR_RETURN(r.id, RequiredId(p, "DBClusterIdentifier", "cluster"));
  API_ASSIGN_OR_RETURN(r.backtrack_window_s, p.GetInt("BacktrackWindow"));
  if (p.Has("MasterUserPassword")) {
    API_ASSIGN_OR_RETURN(r.master_password, p.Required("MasterUserPassword"));
  }
  if (std::optional<std::string> v = p.Optional("NewDBClusterIdentifier"); v && !v->empty()) {
    return NotSupported("NewDBClusterIdentifier", "a DB cluster cannot be renamed.");
  }
  if (p.Has("Port")) {
    API_RETURN_IF_ERROR(p.GetInt("Port", 0, 65535));
    return NotSupported("Port", "the port of a DB cluster is fixed when it is created.");
  }
  API_ASSIGN_OR_RETURN(std::optional<bool> manage_pw, p.GetBool("ManageMasterUserPassword"));
  if (manage_pw.value_or(false)) {
    return NotSupported("ManageMasterUserPassword",
                        "there is no Secrets Manager; give MasterUserPassword instead.");
  }
  // ApplyImmediately: every change Rewind makes applies immediately.
  API_RETURN_IF_ERROR(CheckBools(p, {"ApplyImmediately", "DeletionProtection",
                                     "EnableIAMDatabaseAuthentication", "CopyTagsToSnapshot",
                                     "AllowMajorVersionUpgrade", "EnableHttpEndpoint"}));
  API_RETURN_IF_ERROR(p.GetInt("BackupRetentionPeriod"));
  return r;
}

ApiResult<cluster::DeleteClusterRequest> ParseDeleteDBCluster(const FormParams& p) {
  cluster::DeleteClusterRequest r;
  API_ASSIGN_OR_RETURN(r.id, RequiredId(p, "DBClusterIdentifier", "cluster"));
  API_ASSIGN_OR_RETURN(std::optional<bool> skip, p.GetBool("SkipFinalSnapshot"));
  r.skip_final_snapshot = skip.value_or(false);
  r.final_snapshot_id = p.Optional("FinalDBSnapshotIdentifier");
  if (r.final_snapshot_id && r.final_snapshot_id->empty()) r.final_snapshot_id.reset();
  API_RETURN_IF_ERROR(CheckBools(p, {"DeleteAutomatedBackups"}));
  return r;
}

ApiResult<cluster::CreateInstanceRequest> ParseCreateDBInstance(const FormParams& p) {
  cluster::CreateInstanceRequest r;
  API_ASSIGN_OR_RETURN(r.id, p.Required("DBInstanceIdentifier"));
  API_ASSIGN_OR_RETURN(r.instance_class, p.Required("DBInstanceClass"));
  API_ASSIGN_OR_RETURN(r.engine, p.Required("Engine"));
  r.cluster_id = OptionalId(p, "DBClusterIdentifier", "cluster").value_or("");
  API_RETURN_IF_ERROR(p.GetInt("Port", 0, 65535));
  API_RETURN_IF_ERROR(p.GetInt("PromotionTier", 0, 15));
  API_RETURN_IF_ERROR(CheckBools(
      p, {"MultiAZ", "PubliclyAccessible", "AutoMinorVersionUpgrade", "StorageEncrypted",
          "CopyTagsToSnapshot", "EnableIAMDatabaseAuthentication", "EnablePerformanceInsights",
          "DeletionProtection", "ManageMasterUserPassword"}));
  API_ASSIGN_OR_RETURN(std::optional<bool> multi_az, p.GetBool("MultiAZ"));
  if (multi_az.value_or(false)) {
    return NotSupported("MultiAZ", "a Rewind DB cluster has one (writer) instance.");
  }
  API_RETURN_IF_ERROR(p.GetTags());
  return r;
}

ApiResult<cluster::BacktrackRequest> ParseBacktrackDBCluster(const FormParams& p) {
  cluster::BacktrackRequest r;
  API_ASSIGN_OR_RETURN(r.cluster_id, RequiredId(p, "DBClusterIdentifier", "cluster"));
  API_ASSIGN_OR_RETURN(std::optional<int64_t> to, p.GetTimestamp("BacktrackTo"));
  if (!to) return ApiError::MissingParameter("BacktrackTo");
  r.backtrack_to_ns = *to;
  API_ASSIGN_OR_RETURN(std::optional<bool> force, p.GetBool("Force"));
  r.force = force.value_or(false);
  API_ASSIGN_OR_RETURN(std::optional<bool> earliest,
                       p.GetBool("UseEarliestTimeOnPointInTimeUnavailable"));
  r.use_earliest_time_on_point_in_time_unavailable = earliest.value_or(false);
  return r;
}

ApiResult<cluster::CloneRequest> ParseRestoreDBClusterToPointInTime(const FormParams& p) {
  cluster::CloneRequest r;
  API_ASSIGN_OR_RETURN(r.id, p.Required("DBClusterIdentifier"));
  API_ASSIGN_OR_RETURN(r.source_id, RequiredId(p, "SourceDBClusterIdentifier", "cluster"));
  r.restore_type = p.GetOr("RestoreType", "");
  API_ASSIGN_OR_RETURN(r.restore_to_ns, p.GetTimestamp("RestoreToTime"));
  API_ASSIGN_OR_RETURN(std::optional<bool> latest, p.GetBool("UseLatestRestorableTime"));
  r.use_latest_restorable_time = latest.value_or(false);
  API_ASSIGN_OR_RETURN(std::optional<int64_t> port, p.GetInt("Port", 0, 65535));
  if (port) r.port = static_cast<int>(*port);
  API_ASSIGN_OR_RETURN(r.backtrack_window_s, p.GetInt("BacktrackWindow"));
  if (std::optional<std::string> mode = p.Optional("EngineMode");
      mode && !mode->empty() && *mode != "provisioned") {
    return ApiError::InvalidParameterValue("Invalid EngineMode " + *mode +
                                           ": Rewind serves EngineMode provisioned.");
  }
  API_RETURN_IF_ERROR(CheckBools(p, {"EnableIAMDatabaseAuthentication", "DeletionProtection",
                                     "CopyTagsToSnapshot", "PubliclyAccessible"}));
  API_RETURN_IF_ERROR(p.GetTags());
  return r;
}

ApiResult<cluster::EventQuery> ParseDescribeEvents(const FormParams& p) {
  static constexpr std::array<std::string_view, 9> kSourceTypes = {
      "db-instance",         "db-parameter-group",    "db-security-group",
      "db-snapshot",         "db-cluster",            "db-cluster-snapshot",
      "custom-engine-version", "db-proxy",            "blue-green-deployment"};
  cluster::EventQuery q;
  const std::string source_type = p.GetOr("SourceType", "");
  if (!source_type.empty()) {
    const std::string_view t = source_type;
    if (std::find(kSourceTypes.begin(), kSourceTypes.end(), t) == kSourceTypes.end()) {
      return ApiError::InvalidParameterValue(
          "Invalid value '" + source_type +
          "' for parameter SourceType: use db-cluster, db-instance, or another RDS source type.");
    }
    q.source_type = source_type;
  }
  std::optional<std::string> source = p.Optional("SourceIdentifier");
  if (source && !source->empty()) {
    q.source_id = IdentifierFromArn(
        IdentifierFromArn(*source, "cluster"), "db");
    if (!q.source_type) {
      return ApiError::InvalidParameterCombination(
          "SourceType must be given with SourceIdentifier.");
    }
  }
  API_ASSIGN_OR_RETURN(q.start_ns, p.GetTimestamp("StartTime"));
  API_ASSIGN_OR_RETURN(q.end_ns, p.GetTimestamp("EndTime"));
  API_ASSIGN_OR_RETURN(q.duration_minutes, p.GetInt("Duration", 0, 14 * 24 * 60));
  if (q.start_ns && q.end_ns && *q.start_ns > *q.end_ns) {
    return ApiError::InvalidParameterCombination("StartTime must not be after EndTime.");
  }
  API_ASSIGN_OR_RETURN(q.categories, p.GetStringList("EventCategories", "EventCategory"));
  API_RETURN_IF_ERROR(ParseFilters(p, {}));
  API_RETURN_IF_ERROR(CheckMaxRecords(p));
  return q;
}

// ---------------------------------------------------------------------------------------------
// Rendering. Members are written in the order of the RDS model (the order clients print them).

void WriteDBCluster(XmlWriter& w, const ClusterView& c, const RenderOptions& o) {
  w.IntElement("AllocatedStorage", 1);
  w.StringList("AvailabilityZones", "AvailabilityZone", {o.availability_zone});
  if (!c.database_name.empty()) w.Element("DatabaseName", c.database_name);
  w.Element("DBClusterIdentifier", c.id);
  w.Element("DBClusterParameterGroup", o.parameter_group);
  w.Element("Status", c.status);
  if (c.earliest_restorable_ns > 0) {
    w.TimeElement("EarliestRestorableTime", c.earliest_restorable_ns);
  }
  w.Element("Endpoint", c.endpoint);
  w.Element("ReaderEndpoint", c.reader_endpoint);
  w.BoolElement("MultiAZ", false);
  w.Element("Engine", c.engine);
  w.Element("EngineVersion", c.engine_version);
  if (c.latest_restorable_ns > 0) w.TimeElement("LatestRestorableTime", c.latest_restorable_ns);
  w.IntElement("Port", c.port);
  w.Element("MasterUsername", c.master_username);
  w.List("DBClusterMembers", "DBClusterMember", c.members,
         [](XmlWriter& x, const cluster::ClusterMember& m) {
           x.Element("DBInstanceIdentifier", m.instance_id)
               .BoolElement("IsClusterWriter", m.is_writer)
               .Element("DBClusterParameterGroupStatus", "in-sync")
               .IntElement("PromotionTier", 1);
         });
  w.BoolElement("StorageEncrypted", false);
  w.Element("DbClusterResourceId", c.resource_id);
  w.Element("DBClusterArn", c.arn);
  w.BoolElement("IAMDatabaseAuthenticationEnabled", false);
  w.Element("CloneGroupId", c.clone_group_id);
  w.TimeElement("ClusterCreateTime", c.create_time_ns);
  if (c.backtrack_window_s > 0 && c.earliest_backtrack_ns > 0) {
    w.TimeElement("EarliestBacktrackTime", c.earliest_backtrack_ns);
  }
  w.IntElement("BacktrackWindow", c.backtrack_window_s);
  if (c.backtrack_window_s > 0) {
    w.IntElement("BacktrackConsumedChangeRecords",
                 static_cast<int64_t>(c.backtrack_consumed_change_records));
  }
  w.Element("EngineMode", c.engine_mode);
  // Between EngineMode and ActivityStreamStatus the clients' models (aws-cli 2.9 and 1.45) list
  // ScalingConfigurationInfo, DeletionProtection, HttpEndpointEnabled, ActivityStreamMode, and
  // in the newer model RdsCustomClusterConfiguration ... AutoMinorVersionUpgrade: at most one of
  // them may be present for the lab's `grep -i EngineMode -A 2 | grep Status` to find a line.
  w.BoolElement("DeletionProtection", false);
  w.Element("ActivityStreamStatus", "stopped");  // no database activity stream
  w.BoolElement("CopyTagsToSnapshot", false);
  w.BoolElement("CrossAccountClone", false);
  w.Open("TagList").Close();
}

void WriteDBInstance(XmlWriter& w, const InstanceView& i, const RenderOptions& o) {
  w.Element("DBInstanceIdentifier", i.id);
  w.Element("DBInstanceClass", i.instance_class);
  w.Element("Engine", i.engine);
  w.Element("DBInstanceStatus", i.status);
  w.Element("MasterUsername", i.master_username);
  if (!i.database_name.empty()) w.Element("DBName", i.database_name);
  // As in RDS, an instance has no endpoint until it has been created.
  if (i.status != "creating") {
    w.Open("Endpoint").Element("Address", i.endpoint).IntElement("Port", i.port).Close();
  }
  w.IntElement("AllocatedStorage", 1);
  w.TimeElement("InstanceCreateTime", i.create_time_ns);
  w.Element("AvailabilityZone", o.availability_zone);
  w.BoolElement("MultiAZ", false);
  w.Element("EngineVersion", i.engine_version);
  w.BoolElement("PubliclyAccessible", false);
  w.IntElement("DbInstancePort", 0);  // as RDS reports it for Aurora instances
  w.Element("DBClusterIdentifier", i.cluster_id);
  w.BoolElement("StorageEncrypted", false);
  w.Element("DbiResourceId", i.resource_id);
  w.BoolElement("CopyTagsToSnapshot", false);
  w.IntElement("PromotionTier", 1);
  w.Element("DBInstanceArn", i.arn);
  w.BoolElement("IAMDatabaseAuthenticationEnabled", false);
  w.BoolElement("DeletionProtection", false);
  w.Open("TagList").Close();
}

void WriteDBClusterBacktrack(XmlWriter& w, const BacktrackView& b) {
  w.Element("DBClusterIdentifier", b.cluster_id);
  w.Element("BacktrackIdentifier", b.id);
  w.TimeElement("BacktrackTo", b.backtrack_to_ns);
  w.TimeElement("BacktrackedFrom", b.backtracked_from_ns);
  w.TimeElement("BacktrackRequestCreationTime", b.request_time_ns);
  w.Element("Status", b.status);
}

void WriteEvent(XmlWriter& w, const EventView& e) {
  w.Element("SourceIdentifier", e.source_id);
  w.Element("SourceType", e.source_type);
  w.Element("Message", e.message);
  w.StringList("EventCategories", "EventCategory", e.categories);
  w.TimeElement("Date", e.date_ns);
  w.Element("SourceArn", e.source_arn);
}

// ---------------------------------------------------------------------------------------------
// The handler.

RdsHandler::RdsHandler(cluster::ClusterService* service, RenderOptions options)
    : service_(service), options_(std::move(options)) {}

const std::vector<std::string_view>& RdsHandler::Actions() {
  static const std::vector<std::string_view> kActions = {
      "CreateDBCluster",          "DescribeDBClusters",
      "ModifyDBCluster",          "DeleteDBCluster",
      "CreateDBInstance",         "DescribeDBInstances",
      "DeleteDBInstance",         "RebootDBInstance",
      "BacktrackDBCluster",       "DescribeDBClusterBacktracks",
      "RestoreDBClusterToPointInTime", "DescribeEvents"};
  return kActions;
}

ApiResult<ApiResponse> RdsHandler::Handle(const ApiRequest& request) {
  using Method = ApiResult<ApiResponse> (RdsHandler::*)(const FormParams&);
  static const std::array<std::pair<std::string_view, Method>, 12> kDispatch = {{
      {"CreateDBCluster", &RdsHandler::CreateDBCluster},
      {"DescribeDBClusters", &RdsHandler::DescribeDBClusters},
      {"ModifyDBCluster", &RdsHandler::ModifyDBCluster},
      {"DeleteDBCluster", &RdsHandler::DeleteDBCluster},
      {"CreateDBInstance", &RdsHandler::CreateDBInstance},
      {"DescribeDBInstances", &RdsHandler::DescribeDBInstances},
      {"DeleteDBInstance", &RdsHandler::DeleteDBInstance},
      {"RebootDBInstance", &RdsHandler::RebootDBInstance},
      {"BacktrackDBCluster", &RdsHandler::BacktrackDBCluster},
      {"DescribeDBClusterBacktracks", &RdsHandler::DescribeDBClusterBacktracks},
      {"RestoreDBClusterToPointInTime", &RdsHandler::RestoreDBClusterToPointInTime},
      {"DescribeEvents", &RdsHandler::DescribeEvents},
  }};
  for (const auto& [name, method] : kDispatch) {
    if (name == request.action) return (this->*method)(request.params);
  }
  return ApiError::InvalidAction(request.action);
}

ApiResult<ApiResponse> RdsHandler::InstanceAnswer(const Result<InstanceView>& i) const {
  if (!i.ok()) return ApiErrorFromClusterStatus(i.status());
  XmlWriter w;
  w.Open("DBInstance");
  WriteDBInstance(w, *i, options_);
  w.Close();
  return Answer(std::move(w).Take());
}

ApiResult<ApiResponse> RdsHandler::CreateDBCluster(const FormParams& p) {
  API_ASSIGN_OR_RETURN(cluster::CreateClusterRequest req, ParseCreateDBCluster(p));
  Result<ClusterView> c = service_->CreateCluster(req);
  if (!c.ok()) return ApiErrorFromClusterStatus(c.status());
  XmlWriter w;
  w.Open("DBCluster");
  WriteDBCluster(w, *c, options_);
  w.Close();
  return Answer(std::move(w).Take());
}

ApiResult<ApiResponse> RdsHandler::DescribeDBClusters(const FormParams& p) {
  std::optional<std::string> id = OptionalId(p, "DBClusterIdentifier", "cluster");
  API_ASSIGN_OR_RETURN(FilterSet filters,
                       ParseFilters(p, {"db-cluster-id", "db-cluster-resource-id",
                                        "clone-group-id", "engine"}));
  NormalizeIdFilters(filters, "db-cluster-id", "cluster");
  API_RETURN_IF_ERROR(CheckMaxRecords(p));
  API_RETURN_IF_ERROR(CheckBools(p, {"IncludeShared"}));
  Result<std::vector<ClusterView>> clusters = service_->DescribeClusters(id);
  if (!clusters.ok()) return ApiErrorFromClusterStatus(clusters.status());
  std::vector<ClusterView> shown;
  for (ClusterView& c : *clusters) {
    if (filters.Matches("db-cluster-id", c.id) &&
        filters.Matches("db-cluster-resource-id", c.resource_id) &&
        filters.Matches("clone-group-id", c.clone_group_id) &&
        filters.Matches("engine", c.engine)) {
      shown.push_back(std::move(c));
    }
  }
  XmlWriter w;
  w.List("DBClusters", "DBCluster", shown,
         [this](XmlWriter& x, const ClusterView& c) { WriteDBCluster(x, c, options_); });
  return Answer(std::move(w).Take());
}

ApiResult<ApiResponse> RdsHandler::ModifyDBCluster(const FormParams& p) {
  API_ASSIGN_OR_RETURN(cluster::ModifyClusterRequest req, ParseModifyDBCluster(p));
  Result<ClusterView> c = service_->ModifyCluster(req);
  if (!c.ok()) return ApiErrorFromClusterStatus(c.status());
  XmlWriter w;
  w.Open("DBCluster");
  WriteDBCluster(w, *c, options_);
  w.Close();
  return Answer(std::move(w).Take());
}

ApiResult<ApiResponse> RdsHandler::DeleteDBCluster(const FormParams& p) {
  API_ASSIGN_OR_RETURN(cluster::DeleteClusterRequest req, ParseDeleteDBCluster(p));
  Result<ClusterView> c = service_->DeleteCluster(req);
  if (!c.ok()) return ApiErrorFromClusterStatus(c.status());
  XmlWriter w;
  w.Open("DBCluster");
  WriteDBCluster(w, *c, options_);
  w.Close();
  return Answer(std::move(w).Take());
}

ApiResult<ApiResponse> RdsHandler::CreateDBInstance(const FormParams& p) {
  API_ASSIGN_OR_RETURN(cluster::CreateInstanceRequest req, ParseCreateDBInstance(p));
  Result<InstanceView> i = service_->CreateInstance(req);
  return InstanceAnswer(i);
}

ApiResult<ApiResponse> RdsHandler::DescribeDBInstances(const FormParams& p) {
  std::optional<std::string> id = OptionalId(p, "DBInstanceIdentifier", "db");
  API_ASSIGN_OR_RETURN(FilterSet filters,
                       ParseFilters(p, {"db-cluster-id", "db-instance-id", "dbi-resource-id",
                                        "engine"}));
  NormalizeIdFilters(filters, "db-cluster-id", "cluster");
  NormalizeIdFilters(filters, "db-instance-id", "db");
  API_RETURN_IF_ERROR(CheckMaxRecords(p));
  Result<std::vector<InstanceView>> instances = service_->DescribeInstances(id, std::nullopt);
  if (!instances.ok()) return ApiErrorFromClusterStatus(instances.status());
  std::vector<InstanceView> shown;
  for (InstanceView& i : *instances) {
    if (filters.Matches("db-cluster-id", i.cluster_id) &&
        filters.Matches("db-instance-id", i.id) &&
        filters.Matches("dbi-resource-id", i.resource_id) &&
        filters.Matches("engine", i.engine)) {
      shown.push_back(std::move(i));
    }
  }
  XmlWriter w;
  w.List("DBInstances", "DBInstance", shown,
         [this](XmlWriter& x, const InstanceView& i) { WriteDBInstance(x, i, options_); });
  return Answer(std::move(w).Take());
}

ApiResult<ApiResponse> RdsHandler::DeleteDBInstance(const FormParams& p) {
  API_ASSIGN_OR_RETURN(std::string id, RequiredId(p, "DBInstanceIdentifier", "db"));
  API_RETURN_IF_ERROR(CheckBools(p, {"SkipFinalSnapshot", "DeleteAutomatedBackups"}));
  if (std::optional<std::string> snap = p.Optional("FinalDBSnapshotIdentifier");
      snap && !snap->empty()) {
    return ApiError::InvalidParameterCombination(
        "FinalDBSnapshotIdentifier can not be specified when deleting a cluster instance.");
  }
  Result<InstanceView> i = service_->DeleteInstance(id);
  return InstanceAnswer(i);
}

ApiResult<ApiResponse> RdsHandler::RebootDBInstance(const FormParams& p) {
  API_ASSIGN_OR_RETURN(std::string id, RequiredId(p, "DBInstanceIdentifier", "db"));
  API_ASSIGN_OR_RETURN(std::optional<bool> failover, p.GetBool("ForceFailover"));
  if (failover.value_or(false)) {
    // One writer per cluster, no Multi-AZ standby: there is nothing to fail over to.
    return ApiError::InvalidParameterCombination(
        "ForceFailover can't be used: the DB instance is not configured for Multi-AZ.");
  }
  Result<InstanceView> i = service_->RebootInstance(id);
  return InstanceAnswer(i);
}

ApiResult<ApiResponse> RdsHandler::BacktrackDBCluster(const FormParams& p) {
  API_ASSIGN_OR_RETURN(cluster::BacktrackRequest req, ParseBacktrackDBCluster(p));
  Result<BacktrackView> b = service_->Backtrack(req);
  if (!b.ok()) return ApiErrorFromClusterStatus(b.status());
  XmlWriter w;
  WriteDBClusterBacktrack(w, *b);
  return Answer(std::move(w).Take());
}

ApiResult<ApiResponse> RdsHandler::DescribeDBClusterBacktracks(const FormParams& p) {
  API_ASSIGN_OR_RETURN(std::string id, RequiredId(p, "DBClusterIdentifier", "cluster"));
  std::optional<std::string> backtrack_id = p.Optional("BacktrackIdentifier");
  if (backtrack_id && backtrack_id->empty()) backtrack_id.reset();
  API_ASSIGN_OR_RETURN(FilterSet filters,
                       ParseFilters(p, {"db-cluster-backtrack-id", "db-cluster-backtrack-status"}));
  for (const Filter& f : filters.filters) {
    if (f.name != "db-cluster-backtrack-status") continue;
    for (const std::string& v : f.values) {
      if (v != "applying" && v != "completed" && v != "failed" && v != "pending") {
        return ApiError::InvalidParameterValue(
            "Invalid value '" + v +
            "' for filter db-cluster-backtrack-status: use applying, completed, failed or "
            "pending.");
      }
    }
  }
  API_RETURN_IF_ERROR(CheckMaxRecords(p));
  Result<std::vector<BacktrackView>> backtracks =
      service_->DescribeBacktracks(id, backtrack_id, {});
  if (!backtracks.ok()) return ApiErrorFromClusterStatus(backtracks.status());
  std::vector<BacktrackView> shown;
  for (BacktrackView& b : *backtracks) {
    if (filters.Matches("db-cluster-backtrack-id", b.id) &&
        filters.Matches("db-cluster-backtrack-status", b.status)) {
      shown.push_back(std::move(b));
    }
  }
  XmlWriter w;
  w.List("DBClusterBacktracks", "DBClusterBacktrack", shown, WriteDBClusterBacktrack);
  return Answer(std::move(w).Take());
}

ApiResult<ApiResponse> RdsHandler::RestoreDBClusterToPointInTime(const FormParams& p) {
  API_ASSIGN_OR_RETURN(cluster::CloneRequest req, ParseRestoreDBClusterToPointInTime(p));
  Result<ClusterView> c = service_->Clone(req);
  if (!c.ok()) return ApiErrorFromClusterStatus(c.status());
  XmlWriter w;
  w.Open("DBCluster");
  WriteDBCluster(w, *c, options_);
  w.Close();
  return Answer(std::move(w).Take());
}

ApiResult<ApiResponse> RdsHandler::DescribeEvents(const FormParams& p) {
  API_ASSIGN_OR_RETURN(cluster::EventQuery q, ParseDescribeEvents(p));
  std::vector<EventView> events = service_->DescribeEvents(q);
  XmlWriter w;
  w.List("Events", "Event", events, WriteEvent);
  return Answer(std::move(w).Take());
}

}  // namespace rwd::api
