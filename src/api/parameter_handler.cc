#include "api/parameter_handler.h"

#include <algorithm>
#include <string>
#include <utility>

namespace rwd::api {
namespace {

using cluster::ParamGroupKind;

// Each action once, with its group kind and the name of its group parameter.
struct ActionInfo {
  std::string_view action;
  ParamGroupKind kind;
  std::vector<std::string_view> params;
};

const std::vector<ActionInfo>& Table() {
  static const std::vector<ActionInfo> kTable = {
      {"CreateDBClusterParameterGroup", ParamGroupKind::kCluster,
       {"DBClusterParameterGroupName", "DBParameterGroupFamily", "Description"}},
      {"DescribeDBClusterParameterGroups", ParamGroupKind::kCluster,
       {"DBClusterParameterGroupName", "Filters", "MaxRecords", "Marker"}},
      {"ModifyDBClusterParameterGroup", ParamGroupKind::kCluster,
       {"DBClusterParameterGroupName", "Parameters"}},
      {"ResetDBClusterParameterGroup", ParamGroupKind::kCluster,
       {"DBClusterParameterGroupName", "ResetAllParameters", "Parameters"}},
      {"DeleteDBClusterParameterGroup", ParamGroupKind::kCluster, {"DBClusterParameterGroupName"}},
      {"DescribeDBClusterParameters", ParamGroupKind::kCluster,
       {"DBClusterParameterGroupName", "Source", "Filters", "MaxRecords", "Marker"}},
      {"CreateDBParameterGroup", ParamGroupKind::kInstance,
       {"DBParameterGroupName", "DBParameterGroupFamily", "Description"}},
      {"DescribeDBParameterGroups", ParamGroupKind::kInstance,
       {"DBParameterGroupName", "Filters", "MaxRecords", "Marker"}},
      {"ModifyDBParameterGroup", ParamGroupKind::kInstance, {"DBParameterGroupName", "Parameters"}},
      {"ResetDBParameterGroup", ParamGroupKind::kInstance,
       {"DBParameterGroupName", "ResetAllParameters", "Parameters"}},
      {"DeleteDBParameterGroup", ParamGroupKind::kInstance, {"DBParameterGroupName"}},
      {"DescribeDBParameters", ParamGroupKind::kInstance,
       {"DBParameterGroupName", "Source", "Filters", "MaxRecords", "Marker"}},
      {"DescribeEngineDefaultClusterParameters", ParamGroupKind::kCluster,
       {"DBParameterGroupFamily", "Filters", "MaxRecords", "Marker"}},
  };
  return kTable;
}

const ActionInfo* Find(std::string_view action) {
  for (const ActionInfo& a : Table()) {
    if (a.action == action) return &a;
  }
  return nullptr;
}

bool IsCluster(ParamGroupKind k) { return k == ParamGroupKind::kCluster; }
std::string_view NameParam(ParamGroupKind k) {
  return IsCluster(k) ? "DBClusterParameterGroupName" : "DBParameterGroupName";
}

ApiResponse Answer(std::string xml) {
  ApiResponse r;
  r.result_xml = std::move(xml);
  return r;
}

std::string_view DataTypeWord(cluster::ParamDataType t) {
  switch (t) {
    case cluster::ParamDataType::kInteger: return "integer";
    case cluster::ParamDataType::kFloat: return "float";
    case cluster::ParamDataType::kBoolean: return "boolean";
    case cluster::ParamDataType::kList: return "list";
    case cluster::ParamDataType::kString: return "string";
  }
  return "string";
}

std::string_view SourceWord(cluster::ParamSource s) {
  switch (s) {
    case cluster::ParamSource::kUser: return "user";
    case cluster::ParamSource::kEngineDefault: return "engine-default";
    case cluster::ParamSource::kSystem: return "system";
  }
  return "engine-default";
}

void WriteGroup(XmlWriter& w, const cluster::ParamGroupView& g, const RenderOptions& o) {
  const bool c = IsCluster(g.kind);
  w.Element(c ? "DBClusterParameterGroupName" : "DBParameterGroupName", g.name);
  w.Element("DBParameterGroupFamily", g.family);
  w.Element("Description", g.description);
  w.Element(c ? "DBClusterParameterGroupArn" : "DBParameterGroupArn",
            RdsArn(o, c ? "cluster-pg" : "pg", g.name));
}

// A page of `items` written as <list><item>…</item></list>, the Marker first when more remain.
template <typename T, typename Fn>
ApiResult<ApiResponse> Page(const FormParams& p, std::string_view action, std::vector<T> items,
                            std::string_view list, std::string_view item, Fn write) {
  API_ASSIGN_OR_RETURN(Paging paging, ParsePaging(p, action));
  const size_t begin = std::min(paging.offset, items.size());
  const size_t end = std::min(items.size(), begin + paging.max_records);
  std::vector<T> page(items.begin() + static_cast<ptrdiff_t>(begin),
                      items.begin() + static_cast<ptrdiff_t>(end));
  XmlWriter w;
  if (end < items.size()) w.Element("Marker", EncodeMarker(action, end));
  w.List(list, item, page, write);
  return Answer(std::move(w).Take());
}

ApiResult<std::optional<cluster::ParamSource>> ParseSource(const FormParams& p) {
  std::optional<std::string> s = p.Optional("Source");
  if (!s || s->empty()) return std::optional<cluster::ParamSource>();
  if (*s == "user") return std::optional(cluster::ParamSource::kUser);
  if (*s == "engine-default") return std::optional(cluster::ParamSource::kEngineDefault);
  if (*s == "system") return std::optional(cluster::ParamSource::kSystem);
  return ApiError::InvalidParameterValue("Invalid Source " + ShownInput(*s) +
                                         ": use user, engine-default or system.");
}

ApiResult<ApiResponse> NameAnswer(ParamGroupKind kind, const Result<std::string>& name) {
  if (!name.ok()) return ApiErrorFromClusterStatus(name.status());
  XmlWriter w;
  w.Element(NameParam(kind), *name);
  return Answer(std::move(w).Take());
}

}  // namespace

const std::vector<std::string_view>& ParameterActions() {
  static const std::vector<std::string_view> kActions = [] {
    std::vector<std::string_view> out;
    for (const ActionInfo& a : Table()) out.push_back(a.action);
    return out;
  }();
  return kActions;
}

const std::vector<std::string_view>* ParameterActionParameters(std::string_view action) {
  const ActionInfo* a = Find(action);
  return a ? &a->params : nullptr;
}

std::string_view ApplyStatusWord(cluster::ParamApplyStatus s) {
  switch (s) {
    case cluster::ParamApplyStatus::kInSync: return "in-sync";
    case cluster::ParamApplyStatus::kApplying: return "applying";
    case cluster::ParamApplyStatus::kPendingReboot: return "pending-reboot";
  }
  return "in-sync";
}

ApiResult<std::vector<cluster::ParameterChange>> ParseParameterList(const FormParams& p) {
  // The CLIs send Parameters.Parameter.N (the member's locationName); accept .member.N too.
  API_ASSIGN_OR_RETURN(std::vector<FormParams> items, p.GetStructList("Parameters", "Parameter"));
  API_ASSIGN_OR_RETURN(std::vector<FormParams> members, p.GetStructList("Parameters", "member"));
  items.insert(items.end(), members.begin(), members.end());
  for (const auto& [key, value] : p.entries()) {
    if (key.rfind("Parameters.", 0) == 0 && key.rfind("Parameters.Parameter.", 0) != 0 &&
        key.rfind("Parameters.member.", 0) != 0) {
      return ApiError::InvalidParameterValue("Unexpected parameter " + ShownInput(key) +
                                             ": expected Parameters.Parameter.N.<Member>.");
    }
  }
  static const std::vector<std::string_view> kDescriptive = {
      "Description",   "Source",        "ApplyType",           "DataType",
      "AllowedValues", "IsModifiable",  "MinimumEngineVersion", "SupportedEngineModes"};
  std::vector<cluster::ParameterChange> out;
  for (const FormParams& e : items) {
    cluster::ParameterChange c;
    for (const auto& [key, value] : e.entries()) {
      const std::string_view top = std::string_view(key).substr(0, key.find('.'));
      if (top == "ParameterName") {
        c.name = value;
      } else if (top == "ParameterValue") {
        c.value = value;
      } else if (top == "ApplyMethod") {
        if (value == "immediate") {
          c.apply_method = cluster::ApplyMethod::kImmediate;
        } else if (value == "pending-reboot") {
          c.apply_method = cluster::ApplyMethod::kPendingReboot;
        } else {
          return ApiError::InvalidParameterValue("Invalid ApplyMethod " + ShownInput(value) +
                                                 ": use immediate or pending-reboot.");
        }
      } else if (std::find(kDescriptive.begin(), kDescriptive.end(), top) == kDescriptive.end()) {
        return ApiError::InvalidParameterValue("Unknown member " + ShownInput(top) +
                                               " of a Parameter; give ParameterName, "
                                               "ParameterValue and ApplyMethod.");
      }
    }
    out.push_back(std::move(c));
  }
  return out;
}

void WriteParameter(XmlWriter& w, const cluster::ParameterView& p) {
  w.Element("ParameterName", p.name);
  w.OptElement("ParameterValue", p.value);
  w.Element("Description", p.description);
  w.Element("Source", SourceWord(p.source));
  w.Element("ApplyType", p.is_static ? "static" : "dynamic");
  w.Element("DataType", DataTypeWord(p.data_type));
  if (!p.allowed_values.empty()) w.Element("AllowedValues", p.allowed_values);
  w.BoolElement("IsModifiable", p.is_modifiable);
  if (p.apply_method) {
    w.Element("ApplyMethod", *p.apply_method == cluster::ApplyMethod::kImmediate
                                 ? "immediate"
                                 : "pending-reboot");
  }
  w.StringList("SupportedEngineModes", "member", {"provisioned"});
}

ApiResult<ApiResponse> HandleParameterAction(cluster::ClusterService* service,
                                             const RenderOptions& o, const ApiRequest& request) {
  const ActionInfo* info = Find(request.action);
  if (info == nullptr) return ApiError::InvalidAction(request.action);
  const FormParams& p = request.params;
  const ParamGroupKind kind = info->kind;
  const std::string_view action = info->action;
  auto write_group = [&o](XmlWriter& x, const cluster::ParamGroupView& g) { WriteGroup(x, g, o); };

  if (action == "DescribeEngineDefaultClusterParameters") {
    API_ASSIGN_OR_RETURN(std::string family, p.Required("DBParameterGroupFamily"));
    API_RETURN_IF_ERROR(ParseFilters(p, {}));
    Result<std::vector<cluster::ParameterView>> params = service->EngineDefaultParameters(family);
    if (!params.ok()) return ApiErrorFromClusterStatus(params.status());
    // <EngineDefaults>: the family, then the page.
    API_ASSIGN_OR_RETURN(ApiResponse page, Page(p, action, std::move(*params), "Parameters",
                                                "Parameter", WriteParameter));
    XmlWriter w;
    w.Open("EngineDefaults").Element("DBParameterGroupFamily", family).Raw(page.result_xml);
    w.Close();
    return Answer(std::move(w).Take());
  }
  if (action.rfind("Describe", 0) == 0 && action.find("Groups") != std::string_view::npos) {
    API_RETURN_IF_ERROR(ParseFilters(p, {}));
    std::optional<std::string> name = p.Optional(NameParam(kind));
    if (name && name->empty()) name.reset();
    auto groups = service->DescribeParamGroups(kind, name);
    if (!groups.ok()) return ApiErrorFromClusterStatus(groups.status());
    return Page(p, action, std::move(*groups),
                IsCluster(kind) ? "DBClusterParameterGroups" : "DBParameterGroups",
                IsCluster(kind) ? "DBClusterParameterGroup" : "DBParameterGroup", write_group);
  }
  API_ASSIGN_OR_RETURN(std::string name, p.Required(NameParam(kind)));
  if (action.rfind("Create", 0) == 0) {
    API_ASSIGN_OR_RETURN(std::string family, p.Required("DBParameterGroupFamily"));
    API_ASSIGN_OR_RETURN(std::string description, p.Required("Description"));
    auto g = service->CreateParamGroup(kind, name, family, description);
    if (!g.ok()) return ApiErrorFromClusterStatus(g.status());
    XmlWriter w;
    w.Open(IsCluster(kind) ? "DBClusterParameterGroup" : "DBParameterGroup");
    WriteGroup(w, *g, o);
    w.Close();
    return Answer(std::move(w).Take());
  }
  if (action.rfind("Modify", 0) == 0) {
    API_ASSIGN_OR_RETURN(std::vector<cluster::ParameterChange> changes, ParseParameterList(p));
    if (changes.empty()) return ApiError::MissingParameter("Parameters");
    return NameAnswer(kind, service->ModifyParamGroup(kind, name, changes));
  }
  if (action.rfind("Reset", 0) == 0) {
    API_ASSIGN_OR_RETURN(std::optional<bool> all, p.GetBool("ResetAllParameters"));
    API_ASSIGN_OR_RETURN(std::vector<cluster::ParameterChange> changes, ParseParameterList(p));
    return NameAnswer(kind, service->ResetParamGroup(kind, name, all.value_or(false), changes));
  }
  if (action.rfind("Delete", 0) == 0) {
    Status s = service->DeleteParamGroup(kind, name);
    if (!s.ok()) return ApiErrorFromClusterStatus(s);
    ApiResponse r;
    r.has_result = false;
    return r;
  }
  // DescribeDBClusterParameters / DescribeDBParameters.
  API_ASSIGN_OR_RETURN(std::optional<cluster::ParamSource> source, ParseSource(p));
  API_RETURN_IF_ERROR(ParseFilters(p, {}));
  auto params = service->DescribeParameters(kind, name, source);
  if (!params.ok()) return ApiErrorFromClusterStatus(params.status());
  return Page(p, action, std::move(*params), "Parameters", "Parameter", WriteParameter);
}

}  // namespace rwd::api
