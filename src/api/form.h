// Form decoding for the RDS Query protocol: an application/x-www-form-urlencoded body (or URL
// query string) → FormParams, and typed accessors that turn bad or missing input into the
// ApiError AWS would return (MissingParameter, InvalidParameterValue).
//
// Query-protocol shapes (reference/rds-api.md, "Wire protocol essentials"):
//   scalar     Name=value                       booleans are true/false
//   list       List.Item.N=value  (N from 1)    Item = the member's locationName, else "member";
//                                               an empty list is sent as a bare `List=`
//   struct     Struct.Member=value
//   list of    Filters.Filter.1.Name=engine&Filters.Filter.1.Values.Value.1=aurora-mysql
//   structs    Tags.Tag.1.Key=k&Tags.Tag.1.Value=v
//
// Thread safety: FormParams is a value; const methods may be called concurrently.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "api/api_error.h"
#include "common/status.h"

namespace rwd::api {

// Decodes %XX escapes; with `plus_is_space`, '+' decodes to ' ' (form semantics).
// Failure: InvalidArgument naming the offset of a '%' not followed by two hex digits.
Result<std::string> PercentDecode(std::string_view in, bool plus_is_space);

// Encodes every byte except the RFC 3986 unreserved set A-Z a-z 0-9 - _ . ~ as %XX (upper-case
// hex), plus '/' left alone when `keep_slash`. This is SigV4's UriEncode.
std::string UriEncode(std::string_view in, bool keep_slash);

struct Filter {
  std::string name;
  std::vector<std::string> values;
};

struct Tag {
  std::string key;
  std::string value;
};

class FormParams {
 public:
  FormParams() = default;

  // Parses `key=value&key2=value2` (form semantics: '+' is a space). Empty segments (`a=1&&b=2`,
  // a trailing '&') are skipped; a segment without '=' has an empty value.
  // Failure: MalformedQueryString for bad percent-encoding or an empty key;
  // InvalidParameterValue for a key given twice.
  static ApiResult<FormParams> Parse(std::string_view body);

  // Adds a decoded pair. Failure: InvalidParameterValue if `key` is already present.
  ApiStatus Add(std::string key, std::string value);

  // All pairs, in arrival order.
  const std::vector<std::pair<std::string, std::string>>& entries() const { return entries_; }
  size_t size() const { return entries_.size(); }
  bool empty() const { return entries_.empty(); }

  bool Has(std::string_view name) const;
  // The raw value, or nullopt if absent. The view lives as long as this object is unmodified.
  std::optional<std::string_view> Find(std::string_view name) const;
  // The value, or `fallback` if absent.
  std::string GetOr(std::string_view name, std::string_view fallback) const;

  // A required, non-blank string. Failure: MissingParameter if absent; InvalidParameterValue if
  // blank ("The parameter X must be provided and must not be blank.").
  ApiResult<std::string> Required(std::string_view name) const;
  // An optional string: nullopt if absent (an empty value is returned as "").
  std::optional<std::string> Optional(std::string_view name) const;

  // `true` / `false` (case-insensitive); nullopt if absent.
  // Failure: InvalidParameterValue for anything else.
  ApiResult<std::optional<bool>> GetBool(std::string_view name) const;
  // A decimal integer in [min, max]; nullopt if absent.
  // Failure: InvalidParameterValue for a non-integer, overflow, or a value out of range.
  ApiResult<std::optional<int64_t>> GetInt(std::string_view name, int64_t min = INT64_MIN,
                                           int64_t max = INT64_MAX) const;
  // An ISO 8601 timestamp (see timeparse.h ParseIso8601) → ns since the epoch; nullopt if absent.
  // Failure: InvalidParameterValue quoting the expected format.
  ApiResult<std::optional<int64_t>> GetTimestamp(std::string_view name) const;

  // The list `<list>.<item>.N` (N = 1, 2, ... in numeric order; gaps allowed), e.g.
  // GetStringList("EventCategories", "EventCategory"). Absent or a bare `<list>=` → empty.
  // Failure: InvalidParameterValue for an index that is not a positive integer.
  ApiResult<std::vector<std::string>> GetStringList(std::string_view list,
                                                    std::string_view item) const;
  // The list of structures `<list>.<item>.N.<member>`: one FormParams per N (in numeric order),
  // holding that element's members with the `<list>.<item>.N.` prefix removed.
  ApiResult<std::vector<FormParams>> GetStructList(std::string_view list,
                                                   std::string_view item) const;
  // The members of structure `<prefix>.<member>`, prefix removed; empty if none.
  FormParams GetStruct(std::string_view prefix) const;

  // `Filters.Filter.N.Name` + `Filters.Filter.N.Values.Value.M`.
  // Failure: MissingParameter for a filter without Name.
  ApiResult<std::vector<Filter>> GetFilters(std::string_view list = "Filters") const;
  // `Tags.Tag.N.Key` + `Tags.Tag.N.Value` (Value may be absent → ""). Failure: MissingParameter
  // for a tag without Key.
  ApiResult<std::vector<Tag>> GetTags(std::string_view list = "Tags") const;

 private:
  // Keys `<prefix>.<N>` or `<prefix>.<N>.<rest>` grouped by N, in numeric order.
  ApiResult<std::map<int64_t, std::vector<size_t>>> IndexedEntries(std::string_view prefix) const;

  std::vector<std::pair<std::string, std::string>> entries_;
  std::map<std::string, size_t, std::less<>> index_;  // key → position in entries_
};

}  // namespace rwd::api
