#include "objstore/config.h"

#include "tls/tls.h"

#include <cstdlib>
#include <fstream>
#include <sstream>

namespace rwd::objstore {
namespace {

bool IsLowerAlnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

Status CheckBucketName(std::string_view b) {
  if (b.size() < 3 || b.size() > 63) {
    return Status::InvalidArgument("bucket name '" + std::string(b) +
                                   "' must be 3 to 63 characters long");
  }
  for (char c : b) {
    if (!IsLowerAlnum(c) && c != '-' && c != '.') {
      return Status::InvalidArgument("bucket name '" + std::string(b) +
                                     "' may hold only lowercase letters, digits, '.' and '-'");
    }
  }
  if (!IsLowerAlnum(b.front()) || !IsLowerAlnum(b.back())) {
    return Status::InvalidArgument("bucket name '" + std::string(b) +
                                   "' must start and end with a lowercase letter or digit");
  }
  return Status::Ok();
}

// Without surrounding blanks (and the \r of a file written on Windows).
std::string_view Trim(std::string_view s) {
  constexpr std::string_view kBlank = " \t\r";
  const size_t first = s.find_first_not_of(kBlank);
  if (first == std::string_view::npos) return {};
  return s.substr(first, s.find_last_not_of(kBlank) - first + 1);
}

}  // namespace

Result<S3Location> ParseS3Url(std::string_view url) {
  constexpr std::string_view kScheme = "s3://";
  if (url.substr(0, kScheme.size()) != kScheme) {
    return Status::InvalidArgument("object store URL '" + std::string(url) +
                                   "' must look like s3://BUCKET/PREFIX");
  }
  std::string_view rest = url.substr(kScheme.size());
  const size_t slash = rest.find('/');
  S3Location loc;
  loc.bucket = std::string(rest.substr(0, slash));
  RETURN_IF_ERROR(CheckBucketName(loc.bucket));
  if (slash != std::string_view::npos) {
    std::string_view prefix = rest.substr(slash + 1);
    if (!prefix.empty() && prefix.back() == '/') prefix.remove_suffix(1);
    if (prefix.find("//") != std::string_view::npos || (!prefix.empty() && prefix[0] == '/')) {
      return Status::InvalidArgument("object store URL '" + std::string(url) +
                                     "' has an empty path segment ('//')");
    }
    if (prefix.size() > 512) {
      return Status::InvalidArgument("object store prefix is longer than 512 bytes");
    }
    for (char c : prefix) {
      if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
        return Status::InvalidArgument("object store prefix holds a control character");
      }
    }
    if (!prefix.empty()) loc.prefix = std::string(prefix) + "/";
  }
  return loc;
}

Result<std::string> NormalizeEndpoint(std::string_view endpoint, std::string_view region) {
  if (endpoint.empty()) {
    return "https://s3." + std::string(region.empty() ? "us-east-1" : region) + ".amazonaws.com";
  }
  std::string_view rest;
  if (endpoint.substr(0, 7) == "http://") {
    rest = endpoint.substr(7);
  } else if (endpoint.substr(0, 8) == "https://") {
    rest = endpoint.substr(8);
  } else {
    return Status::InvalidArgument("S3 endpoint '" + std::string(endpoint) +
                                   "' must start with http:// or https://");
  }
  if (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);
  if (rest.empty()) {
    return Status::InvalidArgument("S3 endpoint '" + std::string(endpoint) + "' names no host");
  }
  if (rest.find_first_of("/?#@ ") != std::string_view::npos) {
    return Status::InvalidArgument("S3 endpoint '" + std::string(endpoint) +
                                   "' must be scheme://host[:port] only (no path, query or "
                                   "credentials: those come from the AWS credential chain)");
  }
  if (endpoint.substr(0, 7) == "http://") {
    // Requests are signed, not encrypted: the log, metadata (password hashes) and the
    // engines' root passwords would cross the network in clear.
    const size_t end = rest.front() == '[' ? rest.find(']') + 1 : rest.rfind(':');
    const std::string_view host = rest.substr(0, end);
    if (!tls::IsLoopbackHost(host)) {
      return Status::InvalidArgument(
          "S3 endpoint '" + std::string(endpoint) + "' is plain http on a non-loopback host: "
          "the store's history and metadata would cross the network in clear; use https:// "
          "(plain http only on 127.0.0.0/8, ::1 or localhost, e.g. a local RGW or a TLS proxy)");
    }
  }
  return std::string(endpoint.substr(0, endpoint.size() - (endpoint.back() == '/' ? 1 : 0)));
}

Result<S3Config> MakeS3Config(std::string_view url, std::string_view endpoint,
                              std::string_view region) {
  ASSIGN_OR_RETURN(S3Location loc, ParseS3Url(url));
  S3Config c;
  if (!region.empty()) {
    for (char ch : region) {
      if (!IsLowerAlnum(ch) && ch != '-') {
        return Status::InvalidArgument("S3 region '" + std::string(region) +
                                       "' may hold only lowercase letters, digits and '-'");
      }
    }
    c.region = std::string(region);
  }
  ASSIGN_OR_RETURN(c.endpoint, NormalizeEndpoint(endpoint, c.region));
  c.bucket = std::move(loc.bucket);
  c.prefix = std::move(loc.prefix);
  return c;
}

EnvLookup ProcessEnv() {
  return [](const char* name) -> std::optional<std::string> {
    const char* v = std::getenv(name);
    if (v == nullptr) return std::nullopt;
    return std::string(v);
  };
}

Result<Credentials> ParseCredentialsFile(std::string_view text, std::string_view profile,
                                         std::string_view source) {
  bool in_profile = false, found = false;
  Credentials c;
  c.source = std::string(source) + " [" + std::string(profile) + "]";
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t eol = text.find('\n', pos);
    if (eol == std::string_view::npos) eol = text.size();
    std::string_view line = Trim(text.substr(pos, eol - pos));
    pos = eol + 1;
    if (line.empty() || line[0] == '#' || line[0] == ';') continue;
    if (line[0] == '[') {
      const size_t close = line.find(']');
      in_profile = close != std::string_view::npos && Trim(line.substr(1, close - 1)) == profile;
      found = found || in_profile;
      continue;
    }
    if (!in_profile) continue;
    const size_t eq = line.find('=');
    if (eq == std::string_view::npos) continue;
    const std::string_view key = Trim(line.substr(0, eq));
    const std::string value(Trim(line.substr(eq + 1)));
    if (key == "aws_access_key_id") c.access_key_id = value;
    else if (key == "aws_secret_access_key") c.secret_access_key = value;
    else if (key == "aws_session_token") c.session_token = value;
  }
  if (!found) return Status::NotFound("no profile [" + std::string(profile) + "] in " +
                                      std::string(source));
  if (c.access_key_id.empty() || c.secret_access_key.empty()) {
    return Status::InvalidArgument(c.source +
                                   " lacks aws_access_key_id or aws_secret_access_key");
  }
  return c;
}

Result<Credentials> ResolveCredentials(const EnvLookup& env) {
  auto get = [&](const char* name) {
    std::optional<std::string> v = env(name);
    return v.has_value() ? *v : std::string();
  };
  const std::string id = get("AWS_ACCESS_KEY_ID"), secret = get("AWS_SECRET_ACCESS_KEY");
  if (!id.empty() || !secret.empty()) {
    if (id.empty() || secret.empty()) {
      return Status::InvalidArgument(
          "only one of AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY is set: set both, or neither "
          "to use the shared credentials file");
    }
    Credentials c{id, secret, get("AWS_SESSION_TOKEN"), "environment"};
    return c;
  }
  const std::string explicit_file = get("AWS_SHARED_CREDENTIALS_FILE");
  const std::string explicit_profile = get("AWS_PROFILE");
  std::string file = explicit_file;
  if (file.empty()) {
    const std::string home = get("HOME");
    if (!home.empty()) file = home + "/.aws/credentials";
  }
  const std::string profile = explicit_profile.empty() ? "default" : explicit_profile;
  const std::string looked =
      "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY in the environment, and " +
      (file.empty() ? std::string("no credentials file (HOME is unset)") : file) + " [" +
      profile + "]";
  if (file.empty()) return Status::NotFound("no AWS credentials: looked at " + looked);
  std::ifstream in(file);
  if (!in) {
    if (!explicit_file.empty()) {
      return Status::InvalidArgument("AWS_SHARED_CREDENTIALS_FILE " + file + " cannot be read");
    }
    return Status::NotFound("no AWS credentials: looked at " + looked);
  }
  std::stringstream text;
  text << in.rdbuf();
  Result<Credentials> c = ParseCredentialsFile(text.str(), profile, file);
  if (!c.ok() && c.status().code() == Status::Code::kNotFound) {
    if (!explicit_profile.empty()) {
      return Status::InvalidArgument("AWS_PROFILE " + profile + " is not in " + file);
    }
    return Status::NotFound("no AWS credentials: looked at " + looked);
  }
  return c;
}

}  // namespace rwd::objstore
