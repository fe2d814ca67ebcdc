#include "cli/rds_client.h"

#include <httplib.h>
#include <openssl/x509.h>

#include <fstream>
#include <sstream>

#include "api/form.h"
#include "api/sigv4.h"
#include "api/timeparse.h"

namespace rwd::cli {

Result<ClientConfig> LoadClientConfig(const std::string& path, const std::string& endpoint,
                                      const std::string& profile) {
  std::ifstream in(path);
  if (!in) return Status::NotFound("cannot read credentials file " + path);
  ClientConfig c;
  c.endpoint = endpoint;
  std::string line, section;
  while (std::getline(in, line)) {
    auto trim = [](std::string s) {
      size_t a = s.find_first_not_of(" \t\r"), b = s.find_last_not_of(" \t\r");
      return a == std::string::npos ? std::string() : s.substr(a, b - a + 1);
    };
    line = trim(line);
    if (line.empty() || line[0] == '#') continue;
    if (line.front() == '[' && line.back() == ']') {
      section = trim(line.substr(1, line.size() - 2));
      continue;
    }
    if (section != profile) continue;
    size_t eq = line.find('=');
    if (eq == std::string::npos) continue;
    std::string key = trim(line.substr(0, eq)), value = trim(line.substr(eq + 1));
    if (key == "aws_access_key_id") c.access_key_id = value;
    if (key == "aws_secret_access_key") c.secret_access_key = value;
  }
  if (c.access_key_id.empty() || c.secret_access_key.empty()) {
    return Status::NotFound("no [" + profile + "] credentials in " + path);
  }
  return c;
}

std::string ChildText(const pugi::xml_node& node, const char* name) {
  pugi::xml_node n = node.find_node([name](const pugi::xml_node& x) {
    return std::string_view(x.name()) == name;
  });
  return n ? n.text().as_string() : "";
}

Result<std::shared_ptr<pugi::xml_document>> RdsClient::Call(
    const std::string& action, const std::vector<std::pair<std::string, std::string>>& params) {
  std::string body = "Action=" + action + "&Version=2014-10-31";
  for (const auto& [k, v] : params) body += "&" + api::UriEncode(k, false) + "=" + api::UriEncode(v, false);

  std::string hostport = config_.endpoint;
  const bool https = hostport.rfind("https://", 0) == 0;
  if (https) {
    hostport = hostport.substr(8);
  } else if (hostport.rfind("http://", 0) == 0) {
    hostport = hostport.substr(7);
  } else if (hostport.find("://") != std::string::npos) {
    return Status::InvalidArgument("the endpoint " + config_.endpoint +
                                   " must start with http:// or https://");
  }
  while (!hostport.empty() && hostport.back() == '/') hostport.pop_back();

  api::SigV4SignInput sign;
  sign.headers = {{"Host", hostport},
                  {"Content-Type", "application/x-www-form-urlencoded; charset=utf-8"}};
  sign.body = body;
  sign.access_key_id = config_.access_key_id;
  sign.secret_access_key = config_.secret_access_key;
  sign.region = config_.region;
  sign.now_ns = api::NowNs();
  httplib::Headers headers;
  for (const auto& [k, v] : api::SignSigV4(sign)) headers.emplace(k, v);

  httplib::Client http((https ? "https://" : "http://") + hostport);
  if (https) {
    if (!config_.ca_bundle.empty()) http.set_ca_cert_path(config_.ca_bundle);
    http.enable_server_certificate_verification(true);
  }
  http.set_connection_timeout(5);
  http.set_read_timeout(120);
  auto res = http.Post("/", headers, body, "application/x-www-form-urlencoded; charset=utf-8");
  if (!res) {
    if (res.error() == httplib::Error::SSLServerVerification) {
      long why = http.get_openssl_verify_result();
      return Status::Unavailable(
          "the certificate of rewindd at " + config_.endpoint + " does not verify against " +
          (config_.ca_bundle.empty() ? "the system's CAs" : "the CA bundle " + config_.ca_bundle) +
          (why != X509_V_OK ? std::string(": ") + X509_verify_cert_error_string(why) : "") +
          " (give its CA with --ca-bundle FILE or AWS_CA_BUNDLE)");
    }
    return Status::Unavailable("cannot reach rewindd at " + config_.endpoint + " (" +
                               httplib::to_string(res.error()) + "); is it running?");
  }
  auto doc = std::make_shared<pugi::xml_document>();
  if (!doc->load_string(res->body.c_str())) {
    return Status::IOError("unreadable answer from rewindd (HTTP " +
                           std::to_string(res->status) + ")");
  }
  if (res->status >= 400) {
    pugi::xml_node err = doc->child("ErrorResponse").child("Error");
    std::string code = err.child("Code").text().as_string();
    std::string msg = err.child("Message").text().as_string();
    Status s = res->status == 404 ? Status::NotFound(msg) : Status::InvalidArgument(msg);
    return s.WithTag(code.empty() ? "HTTP " + std::to_string(res->status) : code);
  }
  return doc;
}

}  // namespace rwd::cli
