// Parameter groups: named sets of engine settings that DB clusters (cluster groups) and
// their instances (instance groups) use, as in Aurora. The settable parameters are the
// engine's tunable variables (engine/tunables.h); what each one is — type, range or allowed
// values, whether a running server can change it — is what the engine itself says
// (engine::ProbeSystemVariables, probed once per engine version and cached in meta.db).
//
// A group's values are written into the config of every engine of the clusters using it at
// the engine's next start; a value asked to apply "immediately" is also set at once on every
// running engine (rewindd's own root account sets it: the master user cannot). An instance's
// apply status is "pending-reboot" while its running engine lacks a value of its groups (a
// static one, or one asked to wait for the reboot); RebootDBInstance (or any restart of the
// engine) brings it in sync.
//
// Default groups (DefaultParamGroupName) exist for both kinds, set nothing, and can be neither
// modified nor deleted.
//
// This header holds the pure parts (exposed for tests); the service calls are on
// ClusterService (cluster_service.h). Thread safety: the functions are pure.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "cluster/cluster_error.h"
#include "cluster/meta_db.h"
#include "common/status.h"
#include "engine/tunables.h"

namespace rwd::cluster {

enum class ParamGroupKind { kCluster, kInstance };
enum class ApplyMethod { kImmediate, kPendingReboot };
enum class ParamApplyStatus { kInSync, kApplying, kPendingReboot };
enum class ParamSource { kUser, kEngineDefault, kSystem };
enum class ParamDataType { kInteger, kFloat, kBoolean, kString, kList };

// The one family Rewind serves: its engine is reported as Aurora MySQL 3 (MySQL 8.0
// compatible), so its groups are of family "aurora-mysql8.0".
inline constexpr const char* kParamGroupFamily = "aurora-mysql8.0";
// "default.aurora-mysql8.0".
std::string DefaultParamGroupName();
// meta.db's words for kinds and apply methods.
const char* KindName(ParamGroupKind kind);       // "cluster" | "instance"
const char* ApplyMethodName(ApplyMethod method);  // "immediate" | "pending-reboot"

// One settable parameter as the engine describes it.
struct ParameterSpec {
  std::string name;
  ParamDataType data_type = ParamDataType::kString;
  bool is_static = false;  // the running server cannot change it (READ_ONLY)
  bool is_signed = false;  // an integer that may be negative
  std::optional<std::string> min, max;  // numeric bounds (integers, floats)
  std::vector<std::string> allowed;     // enum / set members, or character sets, collations
  std::string default_value;            // what an engine runs with when no group sets it
  std::string allowed_text;             // AllowedValues as shown: "10-100000", "0,1", ...
  std::string description;
};
using ParameterCatalog = std::vector<ParameterSpec>;  // by name ascending

// The catalog from the engine's own description. memory_bytes (0: no cap) bounds the
// variables that size a memory allocation (the buffer pool, per-session buffers), so that no
// cluster's owner can ask the host for more memory than it has.
ParameterCatalog BuildCatalog(const std::vector<engine::SystemVariable>& vars,
                              uint64_t memory_bytes);
// The catalog <-> its meta.db cache.
std::vector<ParamCatalogRow> CatalogRows(const std::vector<engine::SystemVariable>& vars);
std::vector<engine::SystemVariable> VariablesFromRows(const std::vector<ParamCatalogRow>& rows);

const ParameterSpec* FindSpec(const ParameterCatalog& catalog, const std::string& name);

// One parameter of a Modify or Reset request.
struct ParameterChange {
  std::string name;
  std::optional<std::string> value;          // Modify: required; Reset: ignored (none)
  std::optional<ApplyMethod> apply_method;   // Modify: required; Reset: default by type
};

// Checks every change of a Modify (reset = false) or Reset (reset = true) against the
// catalog and returns the values to store (canonical spelling: 0/1 for booleans, the
// engine's spelling for enums). Refusal: kInvalidParameter, kParametersInvalid, with one item
// per bad parameter — an unknown or untunable name, a missing or malformed value, a value out of range
// or not allowed, a static parameter with ApplyMethod immediate, a missing ApplyMethod, a
// parameter given twice; nothing is returned then.
Result<std::vector<ParamValueRow>> CheckParameterChanges(const ParameterCatalog& catalog,
                                                         const std::vector<ParameterChange>& changes,
                                                         bool reset);

// The value `spec` takes when `value` is given, canonical; nullopt if refused, with why->reason
// (a kParamValue* reason) and what it needs (other: the allowed values; part: a bad list member).
std::optional<std::string> CanonicalValue(const ParameterSpec& spec, const std::string& value,
                                          RefusalItem* why);

// What an engine of a cluster must run with: the cluster group's values, then the instance
// group's (which win).
engine::TunedSettings MergeSettings(const std::vector<ParamValueRow>& cluster_values,
                                    const std::vector<ParamValueRow>& instance_values);

// The apply plan of a change: which settings a running engine gets now (immediate ones;
// nullopt value: back to its default), given the group's values before and after.
struct ImmediateSetting {
  std::string name;
  std::optional<std::string> value;
};
std::vector<ImmediateSetting> ImmediatePlan(const std::vector<ParamValueRow>& before,
                                            const std::vector<ParamValueRow>& after,
                                            const std::vector<ParameterChange>& changes,
                                            const ParameterCatalog& catalog, bool reset);

// pending-reboot when `in_effect` (the running engine's) differs from `desired`; in-sync
// otherwise (nothing runs: nullopt → in-sync, the next start writes the config).
ParamApplyStatus ApplyStatusOf(const engine::TunedSettings& desired,
                               const std::optional<engine::TunedSettings>& in_effect);

// Parameter group names: 1-255 letters, digits or hyphens, first a letter, no trailing hyphen
// or two hyphens; not starting with "default." (reserved for the default groups).
// Refusal: kInvalidParameter, kParamGroupNameInvalid, naming `field`.
Status ValidateParamGroupName(const std::string& name, Field field);

}  // namespace rwd::cluster
