// XML for Query-protocol responses: a small streaming builder, the success envelope and the
// error document (reference/rds-api.md, "Wire protocol essentials" and "Error XML").
//
//   <OpResponse xmlns="http://rds.amazonaws.com/doc/2014-10-31/">
//     <OpResult>…</OpResult>
//     <ResponseMetadata><RequestId>…</RequestId></ResponseMetadata>
//   </OpResponse>
//
//   <ErrorResponse xmlns="…"><Error><Type>Sender</Type><Code>…</Code><Message>…</Message>
//   </Error><RequestId>…</RequestId></ErrorResponse>
//
// Lists are `<ListName><ItemName>…</ItemName>…</ListName>`, e.g. <DBClusters><DBCluster>.
// Thread safety: XmlWriter is a single-threaded builder; the free functions are pure.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/api_error.h"

namespace rwd::api {

inline constexpr std::string_view kRdsXmlNamespace = "http://rds.amazonaws.com/doc/2014-10-31/";

// Escapes text for element content or attribute values: & < > " ' and CR become entities;
// control characters XML 1.0 forbids, and bytes that are not valid UTF-8, become U+FFFD.
std::string XmlEscape(std::string_view text);

// Builds an XML fragment. Element names are trusted (they come from code, not from users);
// all text goes through XmlEscape. Methods return *this for chaining:
//   XmlWriter w;
//   w.Open("DBClusters").Open("DBCluster").Element("DBClusterIdentifier", id)
//    .TimeElement("ClusterCreateTime", created_ns).Close().Close();
//   std::string xml = std::move(w).Take();
class XmlWriter {
 public:
  // <name>
  XmlWriter& Open(std::string_view name);
  // </name> for the innermost open element. Precondition: an element is open.
  XmlWriter& Close();
  // <name>escaped text</name>
  XmlWriter& Element(std::string_view name, std::string_view text);
  // Nothing when `text` is nullopt.
  XmlWriter& OptElement(std::string_view name, const std::optional<std::string>& text);
  XmlWriter& IntElement(std::string_view name, int64_t value);
  XmlWriter& BoolElement(std::string_view name, bool value);  // true / false
  // Rendered with FormatTimestamp (timeparse.h): 2026-11-25T10:00:00Z or ...:00.123Z.
  XmlWriter& TimeElement(std::string_view name, int64_t ns);
  // <list><item>v1</item><item>v2</item></list>; an empty list renders as <list></list>.
  XmlWriter& StringList(std::string_view list, std::string_view item,
                        const std::vector<std::string>& values);
  // <list><item>fn(w, e)</item>...</list>: `fn(XmlWriter&, const T&)` writes each item's members.
  template <typename Container, typename Fn>
  XmlWriter& List(std::string_view list, std::string_view item, const Container& elements,
                  Fn&& fn) {
    Open(list);
    for (const auto& e : elements) {
      Open(item);
      fn(*this, e);
      Close();
    }
    return Close();
  }
  // Appends an already-built, well-formed fragment verbatim.
  XmlWriter& Raw(std::string_view xml);

  // Number of elements still open.
  size_t depth() const { return open_.size(); }
  // The fragment. Precondition: depth() == 0.
  std::string Take() &&;
  const std::string& str() const { return out_; }

 private:
  std::string out_;
  std::vector<std::string> open_;
};

// The success document for `action`: `result_xml` goes inside <ActionResult>; with
// `has_result` false (operations without an output shape) the Result element is omitted.
std::string SuccessResponseXml(std::string_view action, std::string_view result_xml,
                               std::string_view request_id, bool has_result = true);

// The error document; the HTTP status to send is error.http_status.
std::string ErrorResponseXml(const ApiError& error, std::string_view request_id);

}  // namespace rwd::api
