#include "objstore/xml.h"

#include <charconv>
#include <sstream>

#include <pugixml.hpp>

namespace rwd::objstore {
namespace {

Status Load(pugi::xml_document& doc, std::string_view xml, const char* what) {
  pugi::xml_parse_result r = doc.load_buffer(xml.data(), xml.size());
  if (!r) {
    return Status::Corruption(std::string(what) + ": the answer is not XML (" +
                              r.description() + ")");
  }
  return Status::Ok();
}

std::string Unquote(std::string s) {
  if (s.size() >= 2 && s.front() == '"' && s.back() == '"') return s.substr(1, s.size() - 2);
  return s;
}

std::string Escape(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      default: out += c;
    }
  }
  return out;
}

}  // namespace

Result<ListPage> ParseListObjectsV2(std::string_view xml) {
  pugi::xml_document doc;
  RETURN_IF_ERROR(Load(doc, xml, "ListObjectsV2"));
  pugi::xml_node root = doc.child("ListBucketResult");
  if (!root) return Status::Corruption("ListObjectsV2: the answer is not a <ListBucketResult>");
  ListPage page;
  page.truncated = std::string_view(root.child_value("IsTruncated")) == "true";
  page.next_continuation_token = root.child_value("NextContinuationToken");
  if (page.truncated && page.next_continuation_token.empty()) {
    return Status::Corruption("ListObjectsV2: truncated without a NextContinuationToken");
  }
  for (pugi::xml_node c : root.children("Contents")) {
    ObjectInfo o;
    o.key = c.child_value("Key");
    if (o.key.empty()) return Status::Corruption("ListObjectsV2: an entry without <Key>");
    const std::string_view size = c.child_value("Size");
    auto [p, ec] = std::from_chars(size.data(), size.data() + size.size(), o.size);
    if (ec != std::errc() || p != size.data() + size.size()) {
      return Status::Corruption("ListObjectsV2: bad <Size> '" + std::string(size) + "' for " +
                                o.key);
    }
    o.etag = Unquote(c.child_value("ETag"));
    o.last_modified = c.child_value("LastModified");
    page.objects.push_back(std::move(o));
  }
  return page;
}

ErrorBody ParseErrorBody(std::string_view xml) {
  pugi::xml_document doc;
  if (xml.empty() || !doc.load_buffer(xml.data(), xml.size())) return {};
  pugi::xml_node e = doc.child("Error");
  if (!e) return {};
  return {e.child_value("Code"), e.child_value("Message")};
}

Result<std::string> ParseUploadId(std::string_view xml) {
  pugi::xml_document doc;
  RETURN_IF_ERROR(Load(doc, xml, "CreateMultipartUpload"));
  std::string id = doc.child("InitiateMultipartUploadResult").child_value("UploadId");
  if (id.empty()) return Status::Corruption("CreateMultipartUpload: the answer has no UploadId");
  return id;
}

std::string CompleteMultipartXml(const std::vector<std::pair<int, std::string>>& parts) {
  std::ostringstream out;
  out << "<CompleteMultipartUpload>";
  for (const auto& [number, etag] : parts) {
    out << "<Part><PartNumber>" << number << "</PartNumber><ETag>\"" << Escape(etag)
        << "\"</ETag></Part>";
  }
  out << "</CompleteMultipartUpload>";
  return out.str();
}

Result<ErrorBody> ParseCompleteMultipart(std::string_view xml) {
  pugi::xml_document doc;
  RETURN_IF_ERROR(Load(doc, xml, "CompleteMultipartUpload"));
  if (doc.child("CompleteMultipartUploadResult")) return ErrorBody{};
  if (pugi::xml_node e = doc.child("Error")) {
    return ErrorBody{e.child_value("Code"), e.child_value("Message")};
  }
  return Status::Corruption("CompleteMultipartUpload: unexpected answer");
}

std::string DeleteObjectsXml(const std::vector<std::string>& keys) {
  std::string out = "<Delete><Quiet>true</Quiet>";
  for (const std::string& k : keys) out += "<Object><Key>" + Escape(k) + "</Key></Object>";
  out += "</Delete>";
  return out;
}

Result<std::vector<std::pair<std::string, std::string>>> ParseDeleteResult(std::string_view xml) {
  pugi::xml_document doc;
  RETURN_IF_ERROR(Load(doc, xml, "DeleteObjects"));
  pugi::xml_node root = doc.child("DeleteResult");
  if (!root) return Status::Corruption("DeleteObjects: the answer is not a <DeleteResult>");
  std::vector<std::pair<std::string, std::string>> errors;
  for (pugi::xml_node e : root.children("Error")) {
    errors.emplace_back(e.child_value("Key"), e.child_value("Code"));
  }
  return errors;
}

}  // namespace rwd::objstore
