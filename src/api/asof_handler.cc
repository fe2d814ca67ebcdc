#include "api/asof_handler.h"

#include <algorithm>
#include <string>
#include <utility>

#include "api/rds_handler.h"
#include "api/xml.h"

namespace rwd::api {
namespace {

const std::vector<std::pair<std::string_view, std::vector<std::string_view>>>& Accepted() {
  static const std::vector<std::pair<std::string_view, std::vector<std::string_view>>> kTable = {
      {"StartDBClusterTimeTravel", {"DBClusterIdentifier", "Time", "IdleMinutes"}},
      {"DescribeDBClusterTimeTravels", {"DBClusterIdentifier"}},
      {"StopDBClusterTimeTravel", {"DBClusterIdentifier", "TimeTravelIdentifier"}},
      {"QueryDBClusterAsOf", {"DBClusterIdentifier", "Time", "Sql", "Database"}},
      {"RestoreDBClusterTable",
       {"DBClusterIdentifier", "TableName", "RestoreToTime", "RestoreRelatedTables", "DryRun"}},
      {"DiffDBCluster", {"DBClusterIdentifier", "StartTime", "EndTime", "TableName", "Format"}},
  };
  return kTable;
}

ApiStatus CheckParams(const FormParams& p, const std::vector<std::string_view>& accepted,
                      std::string_view action) {
  for (const auto& [key, value] : p.entries()) {
    const std::string_view top = std::string_view(key).substr(0, key.find('.'));
    if (top == "Action" || top == "Version" || top.substr(0, 6) == "X-Amz-") continue;
    if (std::find(accepted.begin(), accepted.end(), top) != accepted.end()) continue;
    return ApiError::InvalidParameterValue("The parameter " + ShownInput(top) +
                                           " is not accepted by " + std::string(action) +
                                           "; omit it.");
  }
  return ApiOk();
}

ApiResponse Answer(std::string xml) {
  ApiResponse r;
  r.result_xml = std::move(xml);
  return r;
}

void WriteTimeTravel(XmlWriter& w, const cluster::TimeTravelView& v) {
  w.Element("TimeTravelIdentifier", v.id);
  w.Element("DBClusterIdentifier", v.cluster_id);
  w.TimeElement("Time", v.at_ns);
  w.Element("Endpoint", v.host);
  w.IntElement("Port", v.port);
  w.Element("MasterUsername", v.master_username);
  w.TimeElement("StartTime", v.started_ns);
  w.IntElement("IdleMinutes", v.idle_minutes);
  w.TimeElement("LastActivityTime", v.last_active_ns);
  w.Element("ReadySeconds", std::to_string(v.ready_seconds));
}

ApiResult<ApiResponse> ListAnswer(const Result<std::vector<cluster::TimeTravelView>>& r) {
  if (!r.ok()) return ApiErrorFromClusterStatus(r.status());
  XmlWriter w;
  w.List("TimeTravels", "TimeTravel", *r, WriteTimeTravel);
  return Answer(std::move(w).Take());
}

}  // namespace

const std::vector<std::string_view>& AsOfHandler::Actions() {
  static const std::vector<std::string_view> kActions = [] {
    std::vector<std::string_view> a;
    for (const auto& [name, params] : Accepted()) a.push_back(name);
    return a;
  }();
  return kActions;
}

ApiResult<ApiResponse> AsOfHandler::Handle(const ApiRequest& request) {
  const FormParams& p = request.params;
  const std::string& action = request.action;
  auto entry = std::find_if(Accepted().begin(), Accepted().end(),
                            [&](const auto& e) { return e.first == action; });
  if (entry == Accepted().end()) return ApiError::InvalidAction(action);
  API_RETURN_IF_ERROR(CheckParams(p, entry->second, action));
  API_ASSIGN_OR_RETURN(std::string cluster_id, p.Required("DBClusterIdentifier"));
  cluster_id = IdentifierFromArn(cluster_id, "cluster");

  if (action == "StartDBClusterTimeTravel") {
    API_ASSIGN_OR_RETURN(std::optional<int64_t> at, p.GetTimestamp("Time"));
    API_ASSIGN_OR_RETURN(std::optional<int64_t> idle, p.GetInt("IdleMinutes", 1, 1440));
    Result<cluster::TimeTravelView> v = tt_->Start(cluster_id, at, idle.value_or(10));
    if (!v.ok()) return ApiErrorFromClusterStatus(v.status());
    XmlWriter w;
    w.Open("TimeTravel");
    WriteTimeTravel(w, *v);
    w.Close();
    return Answer(std::move(w).Take());
  }
  if (action == "DescribeDBClusterTimeTravels") return ListAnswer(tt_->List(cluster_id));
  if (action == "StopDBClusterTimeTravel") {
    std::optional<std::string> id = p.Optional("TimeTravelIdentifier");
    if (id && id->empty()) id.reset();
    return ListAnswer(tt_->Stop(cluster_id, id));
  }
  if (action == "QueryDBClusterAsOf") {
    API_ASSIGN_OR_RETURN(std::optional<int64_t> at, p.GetTimestamp("Time"));
    API_ASSIGN_OR_RETURN(std::string sql, p.Required("Sql"));
    Result<std::string> out = tt_->Query(cluster_id, at, sql, p.GetOr("Database", ""));
    if (!out.ok()) return ApiErrorFromClusterStatus(out.status());
    XmlWriter w;
    w.Element("Output", *out);
    return Answer(std::move(w).Take());
  }
  if (action == "DiffDBCluster") {
    API_ASSIGN_OR_RETURN(std::optional<int64_t> from, p.GetTimestamp("StartTime"));
    API_ASSIGN_OR_RETURN(std::optional<int64_t> to, p.GetTimestamp("EndTime"));
    if (!from) return ApiError::MissingParameter("StartTime");
    if (!to) return ApiError::MissingParameter("EndTime");
    Result<std::string> out =
        tt_->Diff(cluster_id, *from, *to, p.GetOr("TableName", ""), p.GetOr("Format", "table"));
    if (!out.ok()) return ApiErrorFromClusterStatus(out.status());
    XmlWriter w;
    w.Element("Output", *out);
    return Answer(std::move(w).Take());
  }
  // RestoreDBClusterTable
  cluster::RestoreTableRequest r;
  r.cluster_id = cluster_id;
  API_ASSIGN_OR_RETURN(r.table, p.Required("TableName"));
  API_ASSIGN_OR_RETURN(std::optional<int64_t> to, p.GetTimestamp("RestoreToTime"));
  if (!to) return ApiError::MissingParameter("RestoreToTime");
  r.to_ns = *to;
  API_ASSIGN_OR_RETURN(std::optional<bool> related, p.GetBool("RestoreRelatedTables"));
  API_ASSIGN_OR_RETURN(std::optional<bool> dry, p.GetBool("DryRun"));
  r.with_related = related.value_or(false);
  r.dry_run = dry.value_or(false);
  Result<cluster::RestoreTableReport> rep = tt_->RestoreTable(r);
  if (!rep.ok()) return ApiErrorFromClusterStatus(rep.status());
  XmlWriter w;
  w.StringList("Tables", "Table", rep->tables);
  w.Element("Method", rep->method);
  w.StringList("CreatedTables", "Table", rep->created);
  w.IntElement("Rows", rep->rows);
  w.BoolElement("DryRun", r.dry_run);
  return Answer(std::move(w).Take());
}

ApiResult<ApiResponse> ChainHandler::Handle(const ApiRequest& request) {
  if (std::find(first_actions_.begin(), first_actions_.end(), request.action) !=
      first_actions_.end()) {
    return first_->Handle(request);
  }
  return rest_->Handle(request);
}

}  // namespace rwd::api
