#include "api/xml.h"

#include <cassert>
#include <string>

#include "api/timeparse.h"

namespace rwd::api {

namespace {

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD

// Length of the valid UTF-8 sequence starting at s[i], or 0 if invalid.
size_t Utf8SequenceLength(std::string_view s, size_t i) {
  auto b = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  unsigned char c = b(i);
  size_t n;
  uint32_t cp;
  if (c < 0x80) return 1;
  if (c >= 0xC2 && c <= 0xDF) {
    n = 2;
    cp = c & 0x1F;
  } else if (c >= 0xE0 && c <= 0xEF) {
    n = 3;
    cp = c & 0x0F;
  } else if (c >= 0xF0 && c <= 0xF4) {
    n = 4;
    cp = c & 0x07;
  } else {
    return 0;
  }
  if (i + n > s.size()) return 0;
  for (size_t k = 1; k < n; ++k) {
    if ((b(i + k) & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (b(i + k) & 0x3F);
  }
  if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10FFFF))) return 0;
  if (cp >= 0xD800 && cp <= 0xDFFF) return 0;  // surrogates
  if (cp == 0xFFFE || cp == 0xFFFF) return 0;  // not XML characters
  return n;
}

}  // namespace

std::string XmlEscape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    char c = text[i];
    switch (c) {
      case '&':
        out += "&amp;";
        ++i;
        continue;
      case '<':
        out += "&lt;";
        ++i;
        continue;
      case '>':
        out += "&gt;";
        ++i;
        continue;
      case '"':
        out += "&quot;";
        ++i;
        continue;
      case '\'':
        out += "&apos;";
        ++i;
        continue;
      case '\r':
        out += "&#13;";
        ++i;
        continue;
      case '\n':
      case '\t':
        out += c;
        ++i;
        continue;
      default:
        break;
    }
    if (static_cast<unsigned char>(c) < 0x20) {
      out += kReplacement;
      ++i;
      continue;
    }
    size_t n = Utf8SequenceLength(text, i);
    if (n == 0) {
      out += kReplacement;
      ++i;
    } else {
      out.append(text.substr(i, n));
      i += n;
    }
  }
  return out;
}

XmlWriter& XmlWriter::Open(std::string_view name) {
  out_ += '<';
  out_ += name;
  out_ += '>';
  open_.emplace_back(name);
  return *this;
}

XmlWriter& XmlWriter::Close() {
  assert(!open_.empty());
  if (open_.empty()) return *this;
  out_ += "</";
  out_ += open_.back();
  out_ += '>';
  open_.pop_back();
  return *this;
}

XmlWriter& XmlWriter::Element(std::string_view name, std::string_view text) {
  out_ += '<';
  out_ += name;
  out_ += '>';
  out_ += XmlEscape(text);
  out_ += "</";
  out_ += name;
  out_ += '>';
  return *this;
}

XmlWriter& XmlWriter::OptElement(std::string_view name, const std::optional<std::string>& text) {
  if (text) Element(name, *text);
  return *this;
}

XmlWriter& XmlWriter::IntElement(std::string_view name, int64_t value) {
  return Element(name, std::to_string(value));
}

XmlWriter& XmlWriter::BoolElement(std::string_view name, bool value) {
  return Element(name, value ? "true" : "false");
}

XmlWriter& XmlWriter::TimeElement(std::string_view name, int64_t ns) {
  return Element(name, FormatTimestamp(ns));
}

XmlWriter& XmlWriter::StringList(std::string_view list, std::string_view item,
                                 const std::vector<std::string>& values) {
  Open(list);
  for (const std::string& v : values) Element(item, v);
  return Close();
}

XmlWriter& XmlWriter::Raw(std::string_view xml) {
  out_ += xml;
  return *this;
}

std::string XmlWriter::Take() && {
  assert(open_.empty());
  return std::move(out_);
}

std::string SuccessResponseXml(std::string_view action, std::string_view result_xml,
                               std::string_view request_id, bool has_result) {
  std::string out;
  out.reserve(result_xml.size() + 2 * action.size() + 200);
  out += '<';
  out += action;
  out += "Response xmlns=\"";
  out += kRdsXmlNamespace;
  out += "\">";
  if (has_result) {
    out.append("<").append(action).append("Result>");
    out += result_xml;
    out.append("</").append(action).append("Result>");
  }
  out += "<ResponseMetadata><RequestId>";
  out += XmlEscape(request_id);
  out += "</RequestId></ResponseMetadata></";
  out += action;
  out += "Response>\n";
  return out;
}

std::string ErrorResponseXml(const ApiError& error, std::string_view request_id) {
  XmlWriter w;
  w.Raw("<ErrorResponse xmlns=\"").Raw(kRdsXmlNamespace).Raw("\">");
  w.Open("Error")
      .Element("Type", error.sender_fault ? "Sender" : "Receiver")
      .Element("Code", error.code)
      .Element("Message", error.message)
      .Close();
  w.Element("RequestId", request_id);
  w.Raw("</ErrorResponse>\n");
  return std::move(w).Take();
}

}  // namespace rwd::api
