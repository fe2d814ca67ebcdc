// rewind_tls: the certificates Rewind makes and the ones it is given, on OpenSSL (libssl-dev);
// no hand-written crypto. Three uses:
//   - rewindd's own CA (CertificateAuthority): one per data dir, like Aurora's regional CA
//     whose certificate users download as global-bundle.pem. EC P-256 key, self-signed,
//     10 years, basicConstraints critical CA:TRUE, keyUsage critical keyCertSign + cRLSign.
//   - each DB cluster's server certificate (EnsureServerCertificate), signed by that CA:
//     EC P-256, about a year, extendedKeyUsage serverAuth, subjectAltName = the names asked
//     for (IP SAN for a numeric address, DNS SAN otherwise), so that
//     `mysql --ssl-ca=ca.pem --ssl-verify-server-cert -h <endpoint>` verifies.
//   - the control API's certificate, which is the user's (ServerIdentity): loaded, checked,
//     and put into the API server's SSL_CTX.
// Plus the listen policy of the API: plain HTTP only on a loopback address unless the operator
// says the network is trusted (CheckPlainHttpListen).
//
// Files: keys and certificates are written mode 0600 (everything rewindd writes is private;
// clients are given a copy of the CA certificate); every write is atomic (a
// temporary file in the same directory, fsync, rename, fsync of the directory), so a crash
// leaves the old file or the new one, never a torn one. A cert and key pair written in two
// renames can be left mismatched by a crash; EnsureServerCertificate notices and re-issues.
//
// Errors: every failure is a Status whose message names the file and the problem (and what to
// do, where there is a choice); OpenSSL's own reason is appended where it has one.
// Times are seconds since the epoch, passed in so tests can move the clock.
// Thread safety: free functions are thread-safe; a CertificateAuthority or ServerIdentity may
// be used from several threads at once (all its methods are const).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

// OpenSSL's types, declared as OpenSSL does (typedef struct x509_st X509, ...).
struct x509_st;
struct evp_pkey_st;
struct ssl_ctx_st;

namespace rwd::tls {

inline constexpr int64_t kDaySeconds = 24 * 3600;
inline constexpr int64_t kCaValiditySeconds = 3650 * kDaySeconds;      // ten years
inline constexpr int64_t kServerValiditySeconds = 365 * kDaySeconds;   // about a year
inline constexpr int64_t kRenewBeforeSeconds = 30 * kDaySeconds;       // re-issue when closer

// Who owns a written file. -1 keeps the writing process's uid / gid (root for rewindd today).
struct FileOwner {
  uid_t uid = static_cast<uid_t>(-1);
  gid_t gid = static_cast<gid_t>(-1);
};

// Writes `data` to `path` atomically with `mode` (applied exactly, umask aside) and `owner`.
// Failure: IOError naming the path and the OS error; nothing is left at `path` that was not there.
Status WriteFileAtomic(const std::string& path, std::string_view data, mode_t mode,
                       FileOwner owner = {});

struct X509Deleter {
  void operator()(x509_st* p) const;
};
struct PkeyDeleter {
  void operator()(evp_pkey_st* p) const;
};
using X509Ptr = std::unique_ptr<x509_st, X509Deleter>;
using PkeyPtr = std::unique_ptr<evp_pkey_st, PkeyDeleter>;

// A DNS name or an IP address to put in a certificate's subjectAltName.
// True for a numeric IPv4 / IPv6 address ("127.0.0.1", "::1").
bool IsIpAddress(std::string_view name);
// OK for an IP address or a DNS name (labels of [A-Za-z0-9-], 1..63 bytes, not starting or
// ending with '-', 253 bytes at most; no wildcards); InvalidArgument saying why otherwise.
Status ValidateSubjectName(std::string_view name);

// A server certificate and its private key, PEM.
struct IssuedCertificate {
  std::string cert_pem;
  std::string key_pem;
};

class CertificateAuthority {
 public:
  // A new CA named `common_name` (O=Rewind), valid from an hour before now_s for ten years.
  // Failure: InvalidArgument for an empty name; IOError with OpenSSL's reason.
  static Result<CertificateAuthority> Create(std::string_view common_name, int64_t now_s);

  // Loads a CA written by Write. Failure (the message names the file): NotFound / IOError if a
  // file cannot be read; InvalidArgument if it holds no PEM certificate or key, the key does not
  // belong to the certificate, the certificate is not a CA (basicConstraints CA:TRUE, may sign
  // certificates), or it is not valid at now_s.
  static Result<CertificateAuthority> Load(const std::string& cert_path,
                                           const std::string& key_path, int64_t now_s);

  // Load if both files exist (first setting both to mode 0600, as Write makes them); if neither
  // does, Create and Write. If only one exists:
  // FailedPrecondition naming both (a CA that clients may trust is never replaced silently:
  // restore the missing file, or remove the other to make a new CA).
  static Result<CertificateAuthority> LoadOrCreate(const std::string& cert_path,
                                                   const std::string& key_path,
                                                   std::string_view common_name, int64_t now_s);

  // Writes the certificate (0600) and the key (0600), each atomically; the key first.
  Status Write(const std::string& cert_path, const std::string& key_path,
               FileOwner owner = {}) const;

  std::string CertificatePem() const;
  const x509_st* certificate() const { return cert_.get(); }

  // A new EC P-256 key and a certificate for it signed by this CA: CN = names[0], O=Rewind,
  // subjectAltName = every name (IP or DNS), basicConstraints CA:FALSE, keyUsage
  // digitalSignature, extendedKeyUsage serverAuth, valid from an hour before now_s for
  // validity_s (capped at the CA's own end). Failure: InvalidArgument for no names or a bad
  // name (ValidateSubjectName) or a validity <= 0; IOError with OpenSSL's reason.
  Result<IssuedCertificate> IssueServerCertificate(const std::vector<std::string>& names,
                                                   int64_t now_s,
                                                   int64_t validity_s = kServerValiditySeconds) const;

  // OK if `cert_pem` is a certificate that chains to this CA (X509_verify_cert, purpose TLS
  // server, at now_s), is valid until at least now_s + min_remaining_s, and covers every name
  // (X509_check_ip_asc for addresses, X509_check_host for DNS names). Otherwise
  // InvalidArgument saying which check failed.
  Status CheckServerCertificate(std::string_view cert_pem, const std::vector<std::string>& names,
                                int64_t now_s, int64_t min_remaining_s = 0) const;

 private:
  CertificateAuthority(X509Ptr cert, PkeyPtr key) : cert_(std::move(cert)), key_(std::move(key)) {}
  X509Ptr cert_;
  PkeyPtr key_;
};

// A cluster's TLS files, as mariadbd's ssl-ca / ssl-cert / ssl-key want them.
struct ServerCertFiles {
  std::string ca_path;    // <dir>/ca.pem: the CA's certificate (a copy, readable by `owner`)
  std::string cert_path;  // <dir>/server-cert.pem (0600)
  std::string key_path;   // <dir>/server-key.pem (0600)
  bool issued = false;    // a new certificate was issued by this call
  std::string reason;     // why it was issued ("missing", "expires within 30 days", ...)
};

// Makes sure `dir` holds a server certificate from `ca` for `names`, issuing a new one (new key
// too) when the files are missing or unreadable, the key does not match, it does not chain to
// `ca`, it does not cover every name, it expires within kRenewBeforeSeconds of now_s, or the
// files are not owned by `owner` / the key is not mode 0600. `dir` is created (mode 0700) if
// missing, and it and the files are given to `owner` (so a mariadbd running as that user can
// read its key). Failure: InvalidArgument for bad names; IOError naming the file that could
// not be written. On failure the files already in `dir` are left as they were or replaced
// whole.
Result<ServerCertFiles> EnsureServerCertificate(const CertificateAuthority& ca,
                                                const std::string& dir,
                                                const std::vector<std::string>& names,
                                                FileOwner owner, int64_t now_s);

// The API's certificate and key, given by the user (rewindd --tls-cert / --tls-key).
class ServerIdentity {
 public:
  // `cert_path`: PEM, the server certificate first, then any intermediates. `key_path`: its
  // unencrypted PEM private key. Failure, naming the file and the problem: NotFound / IOError
  // if unreadable; InvalidArgument if there is no PEM certificate / key in it, the key is
  // encrypted, the key does not match the certificate, or the certificate is not valid at now_s
  // (expired or not yet valid).
  static Result<ServerIdentity> Load(const std::string& cert_path, const std::string& key_path,
                                     int64_t now_s);

  // Puts the certificate, its chain and key into `ctx` and sets TLS 1.2 as the oldest version.
  // Failure: IOError with OpenSSL's reason.
  Status Configure(ssl_ctx_st* ctx) const;

  const std::string& cert_path() const { return cert_path_; }

 private:
  ServerIdentity() = default;
  std::string cert_path_;
  std::vector<X509Ptr> chain_;  // [0] is the server's certificate
  PkeyPtr key_;
};

// OK if `path` is a readable file holding at least one PEM certificate (a CA bundle for a
// client: --ca-bundle, AWS_CA_BUNDLE). Otherwise NotFound / IOError / InvalidArgument naming it.
Status CheckCaBundle(const std::string& path);

// True for a loopback address: 127.0.0.0/8, ::1 (also written [::1]) and "localhost".
bool IsLoopbackHost(std::string_view host);

// The API's listen rule. OK if TLS is on, the host is loopback, or the operator allowed plain
// HTTP on a trusted network. Otherwise FailedPrecondition whose message names --tls-cert /
// --tls-key and the opt-out flag.
Status CheckPlainHttpListen(std::string_view host, bool tls_enabled, bool allow_plain_http);

}  // namespace rwd::tls
