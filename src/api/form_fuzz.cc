// libFuzzer target for the Query-protocol form decoder (form.h). Built with REWIND_FUZZ.
//
// The whole input is a request body (what an HTTP client may POST). Checked:
//   - PercentDecode fails exactly when some '%' is not followed by two hex digits (checked
//     against a direct scan), never yields more bytes than it read, and
//     PercentDecode(UriEncode(d)) == d for whatever it decodes to;
//   - FormParams::Parse never crashes or throws; it fails only with MalformedQueryString (404)
//     or InvalidParameterValue (400, a repeated key); what it accepts has non-empty, unique keys,
//     each found by Find with its value, and re-encoding the pairs with UriEncode and parsing
//     again gives the same pairs in the same order;
//   - the typed accessors (GetBool, GetInt, GetTimestamp, Required, GetStringList, GetStructList,
//     GetStruct, GetFilters, GetTags), asked about every name in the body and about every
//     list/struct prefix of those names, never crash and answer only with 400 errors, and what
//     they return is consistent with the raw values (an integer is the decimal text given, a
//     list has no more elements than the body has pairs, ...).
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <set>
#include <string>
#include <string_view>

#include "api/form.h"

namespace rwd::api {
namespace {

[[noreturn]] void Fail(const char* what, const std::string& detail = {}) {
  std::fprintf(stderr, "form_fuzz: property violated: %s %s\n", what, detail.c_str());
  std::abort();
}

void Check(bool cond, const char* what, const std::string& detail = {}) {
  if (!cond) Fail(what, detail);
}

bool IsHex(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

// A user-input error from an accessor: a 400 Sender fault with a code and a message.
template <typename T>
void CheckClientError(const ApiResult<T>& r, const char* accessor) {
  if (r.ok()) return;
  const ApiError& e = r.error();
  Check(e.http_status == 400 && e.sender_fault, accessor, e.ToString());
  Check(e.code == "InvalidParameterValue" || e.code == "MissingParameter", accessor, e.ToString());
  Check(!e.message.empty(), accessor, "empty message");
}

void CheckPercentDecode(std::string_view in, bool plus_is_space) {
  bool well_formed = true;
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '%') continue;
    if (i + 2 >= in.size() || !IsHex(in[i + 1]) || !IsHex(in[i + 2])) {
      well_formed = false;
      break;
    }
    i += 2;
  }
  Result<std::string> d = PercentDecode(in, plus_is_space);
  Check(d.ok() == well_formed, "PercentDecode accepts exactly the well-formed escapes");
  if (!d.ok()) {
    Check(d.status().code() == Status::Code::kInvalidArgument, "PercentDecode error code");
    return;
  }
  Check(d->size() <= in.size(), "PercentDecode grew the text");
  if (in.find('%') == std::string_view::npos) {
    std::string expect(in);
    if (plus_is_space) {
      for (char& c : expect) c = c == '+' ? ' ' : c;
    }
    Check(*d == expect, "PercentDecode changed text without escapes");
  }
  for (bool keep_slash : {false, true}) {
    std::string enc = UriEncode(*d, keep_slash);
    for (char c : enc) {
      const bool plain = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                         (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' || c == '~' ||
                         c == '%' || (keep_slash && c == '/');
      Check(plain, "UriEncode left a reserved byte unescaped", enc);
    }
    Result<std::string> back = PercentDecode(enc, true);
    Check(back.ok() && *back == *d, "PercentDecode(UriEncode(d)) != d");
  }
}

// Prefixes of a dotted name: "A.B.1.C" -> "A", "A.B", "A.B.1".
std::set<std::string> Prefixes(const FormParams& p) {
  std::set<std::string> out;
  for (const auto& [key, value] : p.entries()) {
    for (size_t dot = key.find('.'); dot != std::string::npos; dot = key.find('.', dot + 1)) {
      out.insert(key.substr(0, dot));
      if (out.size() >= 8) return out;  // bound the work per input
    }
  }
  return out;
}

void CheckAccessors(const FormParams& p, int depth) {
  size_t n = 0;
  for (const auto& [key, value] : p.entries()) {
    if (++n > 8) break;  // bound the work per input
    std::optional<std::string_view> found = p.Find(key);
    Check(found && *found == value, "Find does not return the parsed value", key);
    Check(p.Has(key) && p.GetOr(key, "x") == value && p.Optional(key) == value, "Has/GetOr");

    ApiResult<std::string> req = p.Required(key);
    CheckClientError(req, "Required");
    Check(req.ok() == (value.find_first_not_of(" \t\r\n") != std::string::npos), "Required");

    ApiResult<std::optional<bool>> b = p.GetBool(key);
    CheckClientError(b, "GetBool");
    if (b.ok()) Check(b->has_value(), "GetBool lost a present value");

    ApiResult<std::optional<int64_t>> i = p.GetInt(key, -1000, 1000);
    CheckClientError(i, "GetInt");
    if (i.ok()) {
      Check(i->has_value() && **i >= -1000 && **i <= 1000, "GetInt out of its range");
      // The text is an optional sign and decimal digits that denote this value.
      std::string_view t = value;
      bool neg = false;
      if (!t.empty() && (t[0] == '+' || t[0] == '-')) {
        neg = t[0] == '-';
        t.remove_prefix(1);
      }
      Check(!t.empty() && t.find_first_not_of("0123456789") == std::string_view::npos,
            "GetInt accepted a value that is not a decimal integer", value);
      const size_t nz = t.find_first_not_of('0');
      const std::string digits = nz == std::string_view::npos ? "0" : std::string(t.substr(nz));
      Check(std::to_string(neg ? -**i : **i) == digits, "GetInt value != its text", value);
    }
    ApiResult<std::optional<int64_t>> ts = p.GetTimestamp(key);
    CheckClientError(ts, "GetTimestamp");
    if (ts.ok()) Check(ts->has_value(), "GetTimestamp lost a present value");
  }
  Check(!p.Has("") && !p.Find(""), "the empty name is never present");
  CheckClientError(p.Required("NoSuchParameter.x"), "Required(missing)");

  for (const std::string& prefix : Prefixes(p)) {
    const size_t dot = prefix.rfind('.');
    const std::string list = dot == std::string::npos ? prefix : prefix.substr(0, dot);
    const std::string item = dot == std::string::npos ? "member" : prefix.substr(dot + 1);

    ApiResult<std::vector<std::string>> sl = p.GetStringList(list, item);
    CheckClientError(sl, "GetStringList");
    if (sl.ok()) Check(sl->size() <= p.size(), "GetStringList invented elements");

    ApiResult<std::vector<FormParams>> st = p.GetStructList(list, item);
    CheckClientError(st, "GetStructList");
    if (st.ok()) {
      size_t members = 0;
      for (const FormParams& e : *st) members += e.size();
      Check(members <= p.size(), "GetStructList invented members");
      if (depth == 0 && !st->empty()) CheckAccessors(st->front(), depth + 1);
    }
    FormParams sub = p.GetStruct(prefix);
    Check(sub.size() <= p.size(), "GetStruct invented members");
    for (const auto& [k, v] : sub.entries()) {
      std::optional<std::string_view> orig = p.Find(prefix + "." + k);
      Check(orig && *orig == v, "GetStruct member is not the original parameter", k);
    }
    if (depth == 0) CheckAccessors(sub, depth + 1);

    ApiResult<std::vector<Filter>> f = p.GetFilters(list);
    CheckClientError(f, "GetFilters");
    ApiResult<std::vector<Tag>> t = p.GetTags(list);
    CheckClientError(t, "GetTags");
    if (t.ok()) Check(t->size() <= p.size(), "GetTags invented tags");
  }
}

void CheckBody(std::string_view body) {
  CheckPercentDecode(body, true);
  CheckPercentDecode(body, false);

  ApiResult<FormParams> p = FormParams::Parse(body);
  if (!p.ok()) {
    const ApiError& e = p.error();
    Check((e.code == "MalformedQueryString" && e.http_status == 404) ||
              (e.code == "InvalidParameterValue" && e.http_status == 400),
          "Parse failed with an unexpected error", e.ToString());
    return;
  }
  std::set<std::string> keys;
  std::string again;
  for (const auto& [key, value] : p->entries()) {
    Check(!key.empty(), "Parse accepted an empty name");
    Check(keys.insert(key).second, "Parse accepted a repeated name", key);
    if (!again.empty()) again += '&';
    again += UriEncode(key, false) + "=" + UriEncode(value, false);
  }
  Check(p->size() == keys.size() && p->empty() == keys.empty(), "size()");
  ApiResult<FormParams> p2 = FormParams::Parse(again);
  Check(p2.ok() && p2->entries() == p->entries(), "Parse(encode(Parse(body))) != Parse(body)",
        again);

  // Adding a name that is there already is refused; a new one is kept.
  FormParams copy = *p;
  if (!keys.empty()) {
    ApiStatus dup = copy.Add(*keys.begin(), "v");
    Check(!dup.ok() && dup.error().code == "InvalidParameterValue", "Add of a repeated name");
  }
  CheckAccessors(*p, 0);
}

}  // namespace
}  // namespace rwd::api

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    rwd::api::CheckBody(std::string_view(reinterpret_cast<const char*>(data), size));
  } catch (const std::exception& e) {
    rwd::api::Fail("exception escaped the form decoder:", e.what());
  }
  return 0;
}
