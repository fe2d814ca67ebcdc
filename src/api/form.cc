#include "api/form.h"

#include <charconv>
#include <string>

#include "api/timeparse.h"

namespace rwd::api {

namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool IsUnreserved(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_' || c == '.' || c == '~';
}

// Shortens a user-supplied value for an error message.
std::string Shown(std::string_view v) { return ShownInput(v, 200); }

// Parses a positive decimal index without sign or leading zeros.
bool ParseIndex(std::string_view s, int64_t* out) {
  if (s.empty() || s.size() > 9 || s[0] == '0') return false;
  int64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  *out = v;
  return true;
}

}  // namespace

Result<std::string> PercentDecode(std::string_view in, bool plus_is_space) {
  std::string out;
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c == '%') {
      int hi = i + 1 < in.size() ? HexValue(in[i + 1]) : -1;
      int lo = i + 2 < in.size() ? HexValue(in[i + 2]) : -1;
      if (hi < 0 || lo < 0) {
        return Status::InvalidArgument("malformed percent-encoding at offset " + std::to_string(i) +
                                       ": '%' must be followed by two hex "
                                       "digits");
      }
      out += static_cast<char>(hi * 16 + lo);
      i += 2;
    } else if (c == '+' && plus_is_space) {
      out += ' ';
    } else {
      out += c;
    }
  }
  return out;
}

std::string UriEncode(std::string_view in, bool keep_slash) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(in.size());
  for (char ch : in) {
    auto c = static_cast<unsigned char>(ch);
    if (IsUnreserved(c) || (keep_slash && c == '/')) {
      out += ch;
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

ApiResult<FormParams> FormParams::Parse(std::string_view body) {
  FormParams params;
  size_t start = 0;
  while (start <= body.size()) {
    size_t amp = body.find('&', start);
    if (amp == std::string_view::npos) amp = body.size();
    std::string_view seg = body.substr(start, amp - start);
    start = amp + 1;
    if (seg.empty()) continue;
    size_t eq = seg.find('=');
    std::string_view raw_key = seg.substr(0, eq);
    std::string_view raw_value = eq == std::string_view::npos ? "" : seg.substr(eq + 1);
    Result<std::string> key = PercentDecode(raw_key, true);
    if (!key.ok()) {
      return ApiError::MalformedQueryString("Malformed parameter name '" + Shown(raw_key) +
                                            "': " + key.status().message());
    }
    Result<std::string> value = PercentDecode(raw_value, true);
    if (!value.ok()) {
      return ApiError::MalformedQueryString("Malformed value of parameter " + Shown(*key) + ": " +
                                            value.status().message());
    }
    if (key->empty()) {
      return ApiError::MalformedQueryString("Malformed query string: a parameter has no name");
    }
    API_RETURN_IF_ERROR(params.Add(std::move(key).value(), std::move(value).value()));
  }
  return params;
}

ApiStatus FormParams::Add(std::string key, std::string value) {
  if (index_.count(key) != 0) {
    return ApiError::InvalidParameterValue("The parameter " + Shown(key) +
                                           " was given more than once.");
  }
  index_.emplace(key, entries_.size());
  entries_.emplace_back(std::move(key), std::move(value));
  return ApiOk();
}

bool FormParams::Has(std::string_view name) const { return index_.find(name) != index_.end(); }

std::optional<std::string_view> FormParams::Find(std::string_view name) const {
  auto it = index_.find(name);
  if (it == index_.end()) return std::nullopt;
  return std::string_view(entries_[it->second].second);
}

std::string FormParams::GetOr(std::string_view name, std::string_view fallback) const {
  return std::string(Find(name).value_or(fallback));
}

ApiResult<std::string> FormParams::Required(std::string_view name) const {
  std::optional<std::string_view> v = Find(name);
  if (!v) return ApiError::MissingParameter(name);
  if (v->find_first_not_of(" \t\r\n") == std::string_view::npos) {
    return ApiError::InvalidParameterValue("The parameter " + std::string(name) +
                                           " must be provided and must not be blank.");
  }
  return std::string(*v);
}

std::optional<std::string> FormParams::Optional(std::string_view name) const {
  std::optional<std::string_view> v = Find(name);
  if (!v) return std::nullopt;
  return std::string(*v);
}

ApiResult<std::optional<bool>> FormParams::GetBool(std::string_view name) const {
  std::optional<std::string_view> v = Find(name);
  if (!v) return std::optional<bool>();
  std::string lower;
  for (char c : *v) lower += (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
  if (lower == "true") return std::optional<bool>(true);
  if (lower == "false") return std::optional<bool>(false);
  return ApiError::InvalidParameterValue("Invalid value '" + Shown(*v) + "' for parameter " +
                                         std::string(name) + ": expected true or false.");
}

ApiResult<std::optional<int64_t>> FormParams::GetInt(std::string_view name, int64_t min,
                                                     int64_t max) const {
  std::optional<std::string_view> v = Find(name);
  if (!v) return std::optional<int64_t>();
  int64_t out = 0;
  const char* first = v->data();
  const char* last = v->data() + v->size();
  // One optional sign: from_chars takes '-' but not '+', so skip a '+' ourselves, but only
  // before a digit ("+-5" is not an integer).
  if (first != last && *first == '+') ++first;
  const bool digit_first = first != last && *first >= '0' && *first <= '9';
  auto [ptr, ec] = std::from_chars(first, last, out);
  if (v->empty() || ec != std::errc() || ptr != last || (first != v->data() && !digit_first)) {
    return ApiError::InvalidParameterValue(
        "Invalid value '" + Shown(*v) + "' for parameter " + std::string(name) +
        (ec == std::errc::result_out_of_range ? ": integer out of range."
                                              : ": expected an integer."));
  }
  if (out < min || out > max) {
    return ApiError::InvalidParameterValue(
        "Invalid value " + std::to_string(out) + " for parameter " + std::string(name) +
        ": must be between " + std::to_string(min) + " and " + std::to_string(max) + ".");
  }
  return std::optional<int64_t>(out);
}

ApiResult<std::optional<int64_t>> FormParams::GetTimestamp(std::string_view name) const {
  std::optional<std::string_view> v = Find(name);
  if (!v) return std::optional<int64_t>();
  Result<int64_t> t = ParseIso8601(*v);
  if (!t.ok()) {
    return ApiError::InvalidParameterValue("Invalid value for parameter " + std::string(name) +
                                           ": " + t.status().message());
  }
  return std::optional<int64_t>(*t);
}

ApiResult<std::map<int64_t, std::vector<size_t>>> FormParams::IndexedEntries(
    std::string_view prefix) const {
  std::map<int64_t, std::vector<size_t>> groups;
  std::string dotted = std::string(prefix) + ".";
  for (auto it = index_.lower_bound(dotted); it != index_.end(); ++it) {
    std::string_view key = it->first;
    if (key.substr(0, dotted.size()) != dotted) break;
    std::string_view rest = key.substr(dotted.size());
    size_t dot = rest.find('.');
    std::string_view idx_text = rest.substr(0, dot);
    int64_t idx;
    if (!ParseIndex(idx_text, &idx)) {
      return ApiError::InvalidParameterValue("Invalid list index in parameter " + Shown(key) +
                                             ": expected " + std::string(prefix) +
                                             ".N with N = 1, 2, ...");
    }
    groups[idx].push_back(it->second);
  }
  return groups;
}

ApiResult<std::vector<std::string>> FormParams::GetStringList(std::string_view list,
                                                              std::string_view item) const {
  std::string prefix = std::string(list) + "." + std::string(item);
  API_ASSIGN_OR_RETURN(auto groups, IndexedEntries(prefix));
  std::vector<std::string> out;
  for (const auto& [idx, positions] : groups) {
    for (size_t pos : positions) {
      const auto& [key, value] = entries_[pos];
      if (key.size() != prefix.size() + 1 + std::to_string(idx).size()) {
        return ApiError::InvalidParameterValue("Unexpected parameter " + Shown(key) + ": " +
                                               prefix + ".N holds a plain value.");
      }
      out.push_back(value);
    }
  }
  return out;
}

ApiResult<std::vector<FormParams>> FormParams::GetStructList(std::string_view list,
                                                             std::string_view item) const {
  std::string prefix = std::string(list) + "." + std::string(item);
  API_ASSIGN_OR_RETURN(auto groups, IndexedEntries(prefix));
  std::vector<FormParams> out;
  for (const auto& [idx, positions] : groups) {
    FormParams element;
    size_t head = prefix.size() + 1 + std::to_string(idx).size();  // "<prefix>.<N>"
    for (size_t pos : positions) {
      const auto& [key, value] = entries_[pos];
      if (key.size() <= head + 1) {
        return ApiError::InvalidParameterValue("Unexpected parameter " + Shown(key) + ": " +
                                               prefix + ".N is a structure; expected " + prefix +
                                               ".N.<Member>.");
      }
      API_RETURN_IF_ERROR(element.Add(key.substr(head + 1), value));
    }
    out.push_back(std::move(element));
  }
  return out;
}

FormParams FormParams::GetStruct(std::string_view prefix) const {
  FormParams out;
  std::string dotted = std::string(prefix) + ".";
  for (const auto& [key, value] : entries_) {
    if (key.size() > dotted.size() && std::string_view(key).substr(0, dotted.size()) == dotted) {
      (void)out.Add(key.substr(dotted.size()), value);  // keys are unique: cannot fail
    }
  }
  return out;
}

ApiResult<std::vector<Filter>> FormParams::GetFilters(std::string_view list) const {
  API_ASSIGN_OR_RETURN(std::vector<FormParams> elements, GetStructList(list, "Filter"));
  std::vector<Filter> out;
  for (const FormParams& e : elements) {
    Filter f;
    std::optional<std::string_view> name = e.Find("Name");
    if (!name) return ApiError::MissingParameter(std::string(list) + ".Filter.N.Name");
    f.name = std::string(*name);
    API_ASSIGN_OR_RETURN(f.values, e.GetStringList("Values", "Value"));
    out.push_back(std::move(f));
  }
  return out;
}

ApiResult<std::vector<Tag>> FormParams::GetTags(std::string_view list) const {
  API_ASSIGN_OR_RETURN(std::vector<FormParams> elements, GetStructList(list, "Tag"));
  std::vector<Tag> out;
  for (const FormParams& e : elements) {
    std::optional<std::string_view> key = e.Find("Key");
    if (!key) return ApiError::MissingParameter(std::string(list) + ".Tag.N.Key");
    out.push_back(Tag{std::string(*key), e.GetOr("Value", "")});
  }
  return out;
}

}  // namespace rwd::api
