#include "tls/tls.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <cctype>
#include <filesystem>
#include <functional>

namespace rwd::tls {

void X509Deleter::operator()(x509_st* p) const { X509_free(p); }
void PkeyDeleter::operator()(evp_pkey_st* p) const { EVP_PKEY_free(p); }

namespace {

struct BioDeleter {
  void operator()(BIO* p) const { BIO_free(p); }
};
using BioPtr = std::unique_ptr<BIO, BioDeleter>;

constexpr size_t kMaxPemBytes = 1 << 20;  // far above any certificate chain or key

// OpenSSL's queued errors as text (most recent last), and the queue cleared.
std::string OpensslReason() {
  std::string out;
  while (unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof(buf));
    if (!out.empty()) out += "; ";
    out += buf;
  }
  return out;
}

Status SslFailure(const std::string& what) {
  std::string why = OpensslReason();
  return Status::IOError(why.empty() ? what : what + ": " + why);
}

std::string FormatTime(const ASN1_TIME* t) {
  struct tm tm {};
  if (t == nullptr || ASN1_TIME_to_tm(t, &tm) != 1) return "(unreadable time)";
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

Result<std::string> ReadSmallFile(const std::string& path, const char* what) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    int err = errno;
    std::string msg = std::string("cannot read the ") + what + " " + path + ": " + std::strerror(err);
    return err == ENOENT ? Status::NotFound(msg) : Status::IOError(msg);
  }
  std::string data;
  char buf[8192];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      ::close(fd);
      return Status::IOError(std::string("cannot read the ") + what + " " + path + ": " +
                             std::strerror(err));
    }
    if (n == 0) break;
    data.append(buf, static_cast<size_t>(n));
    if (data.size() > kMaxPemBytes) {
      ::close(fd);
      return Status::InvalidArgument(std::string("the ") + what + " " + path +
                                     " is larger than 1 MiB: not a PEM file");
    }
  }
  ::close(fd);
  return data;
}

BioPtr MemBio(std::string_view data) {
  return BioPtr(BIO_new_mem_buf(data.data(), static_cast<int>(data.size())));
}

// Every PEM certificate in `pem`, in order. `where` names the source in messages.
Result<std::vector<X509Ptr>> ParseCertificates(std::string_view pem, const std::string& where) {
  BioPtr bio = MemBio(pem);
  if (!bio) return SslFailure("reading " + where);
  std::vector<X509Ptr> certs;
  while (X509* c = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) certs.emplace_back(c);
  std::string why = OpensslReason();  // the end of the input shows up as "no start line"
  if (certs.empty()) {
    std::string msg = where + " holds no PEM certificate (-----BEGIN CERTIFICATE-----)";
    if (pem.find("-----BEGIN CERTIFICATE-----") != std::string_view::npos && !why.empty()) {
      msg = where + " holds a certificate OpenSSL cannot parse: " + why;
    }
    return Status::InvalidArgument(msg);
  }
  return certs;
}

// Never asked for a passphrase on a terminal: an encrypted key fails to load.
int NoPassphrase(char*, int, int, void*) { return -1; }

Result<PkeyPtr> ParsePrivateKey(std::string_view pem, const std::string& where) {
  BioPtr bio = MemBio(pem);
  if (!bio) return SslFailure("reading " + where);
  EVP_PKEY* key = PEM_read_bio_PrivateKey(bio.get(), nullptr, NoPassphrase, nullptr);
  std::string why = OpensslReason();
  if (key != nullptr) return PkeyPtr(key);
  if (pem.find("ENCRYPTED") != std::string_view::npos) {
    return Status::InvalidArgument(where +
                                   " is an encrypted private key; give an unencrypted one "
                                   "(e.g. openssl pkey -in KEY -out KEY.plain), mode 0600");
  }
  if (pem.find("PRIVATE KEY-----") != std::string_view::npos && !why.empty()) {
    return Status::InvalidArgument(where + " holds a private key OpenSSL cannot parse: " + why);
  }
  return Status::InvalidArgument(where + " holds no PEM private key (-----BEGIN PRIVATE KEY-----)");
}

bool KeyMatches(X509* cert, EVP_PKEY* key) {
  EVP_PKEY* pub = X509_get0_pubkey(cert);
  bool ok = pub != nullptr && EVP_PKEY_eq(pub, key) == 1;
  ERR_clear_error();
  return ok;
}

// OK if `cert` is valid at now_s; `where` names it.
Status CheckValidAt(X509* cert, int64_t now_s, const std::string& where) {
  time_t now = static_cast<time_t>(now_s);
  if (X509_cmp_time(X509_get0_notBefore(cert), &now) > 0) {
    return Status::InvalidArgument(where + " is not valid yet: its validity starts at " +
                                   FormatTime(X509_get0_notBefore(cert)) +
                                   " (check the clock, or issue it again)");
  }
  if (X509_cmp_time(X509_get0_notAfter(cert), &now) < 0) {
    return Status::InvalidArgument(where + " expired at " + FormatTime(X509_get0_notAfter(cert)) +
                                   "; give a current certificate");
  }
  return Status::Ok();
}

Result<std::string> ToPem(const std::function<int(BIO*)>& write) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || write(bio.get()) != 1) return SslFailure("encoding PEM");
  char* data = nullptr;
  long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(n));
}

Result<std::string> CertPem(X509* c) {
  return ToPem([c](BIO* b) { return PEM_write_bio_X509(b, c); });
}
Result<std::string> KeyPem(EVP_PKEY* k) {
  return ToPem([k](BIO* b) {
    return PEM_write_bio_PrivateKey(b, k, nullptr, nullptr, 0, nullptr, nullptr);
  });
}

Result<PkeyPtr> NewEcKey() {
  EVP_PKEY* k = EVP_EC_gen("P-256");
  if (k == nullptr) return SslFailure("generating an EC P-256 key");
  return PkeyPtr(k);
}

Status AddExtension(X509* cert, X509V3_CTX* ctx, int nid, const char* value) {
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, ctx, nid, value);
  if (ext == nullptr) return SslFailure(std::string("building extension ") + OBJ_nid2sn(nid));
  int ok = X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
  return ok == 1 ? Status::Ok() : SslFailure(std::string("adding extension ") + OBJ_nid2sn(nid));
}

// A v3 certificate for `key` named CN=common_name, O=Rewind, with a random positive 127-bit
// serial, valid [not_before, not_after]; issuer = `issuer` (null: self-issued). Unsigned.
Result<X509Ptr> NewCertificate(EVP_PKEY* key, std::string_view common_name, X509* issuer,
                               int64_t not_before, int64_t not_after) {
  X509Ptr cert(X509_new());
  if (!cert || X509_set_version(cert.get(), 2) != 1) return SslFailure("creating a certificate");
  unsigned char serial[16];
  if (RAND_bytes(serial, sizeof(serial)) != 1) return SslFailure("drawing a serial number");
  serial[0] = static_cast<unsigned char>((serial[0] & 0x7f) | 0x40);  // positive, full length
  BIGNUM* bn = BN_bin2bn(serial, sizeof(serial), nullptr);
  bool serial_ok = bn != nullptr && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert.get()));
  BN_free(bn);
  if (!serial_ok) return SslFailure("setting the serial number");

  X509_NAME* name = X509_get_subject_name(cert.get());
  std::string cn(common_name);
  if (X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8,
                                 reinterpret_cast<const unsigned char*>("Rewind"), -1, -1, 0) != 1 ||
      X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                                 reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0) != 1) {
    return SslFailure("setting the subject name");
  }
  X509_NAME* issuer_name = issuer ? X509_get_subject_name(issuer) : name;
  if (X509_set_issuer_name(cert.get(), issuer_name) != 1 ||
      ASN1_TIME_set(X509_getm_notBefore(cert.get()), static_cast<time_t>(not_before)) == nullptr ||
      ASN1_TIME_set(X509_getm_notAfter(cert.get()), static_cast<time_t>(not_after)) == nullptr ||
      X509_set_pubkey(cert.get(), key) != 1) {
    return SslFailure("filling in the certificate");
  }
  return cert;
}

Status AddSubjectAltNames(X509* cert, const std::vector<std::string>& names) {
  GENERAL_NAMES* gens = sk_GENERAL_NAME_new_null();
  if (gens == nullptr) return SslFailure("building subjectAltName");
  Status st = Status::Ok();
  for (const std::string& n : names) {
    GENERAL_NAME* gn = GENERAL_NAME_new();
    if (gn == nullptr) {
      st = SslFailure("building subjectAltName");
      break;
    }
    if (IsIpAddress(n)) {
      ASN1_OCTET_STRING* ip = a2i_IPADDRESS(n.c_str());
      if (ip == nullptr) {
        GENERAL_NAME_free(gn);
        st = SslFailure("encoding IP address " + n);
        break;
      }
      GENERAL_NAME_set0_value(gn, GEN_IPADD, ip);
    } else {
      ASN1_IA5STRING* dns = ASN1_IA5STRING_new();
      if (dns == nullptr || ASN1_STRING_set(dns, n.data(), static_cast<int>(n.size())) != 1) {
        ASN1_IA5STRING_free(dns);
        GENERAL_NAME_free(gn);
        st = SslFailure("encoding DNS name " + n);
        break;
      }
      GENERAL_NAME_set0_value(gn, GEN_DNS, dns);
    }
    if (sk_GENERAL_NAME_push(gens, gn) == 0) {
      GENERAL_NAME_free(gn);
      st = SslFailure("building subjectAltName");
      break;
    }
  }
  if (st.ok() && X509_add1_ext_i2d(cert, NID_subject_alt_name, gens, 0, X509V3_ADD_DEFAULT) != 1) {
    st = SslFailure("adding subjectAltName");
  }
  GENERAL_NAMES_free(gens);
  return st;
}

Status Sign(X509* cert, EVP_PKEY* key) {
  return X509_sign(cert, key, EVP_sha256()) > 0 ? Status::Ok() : SslFailure("signing a certificate");
}

bool FileExists(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0;
}

// Why the file at `path` needs rewriting for `mode` / `owner`, or "" if it need not.
std::string OwnershipProblem(const std::string& path, mode_t mode, FileOwner owner) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return path + " is missing";
  const uid_t uid = owner.uid == static_cast<uid_t>(-1) ? ::geteuid() : owner.uid;
  const gid_t gid = owner.gid == static_cast<gid_t>(-1) ? ::getegid() : owner.gid;
  if ((st.st_mode & 07777) != mode) return path + " has the wrong mode";
  if (st.st_uid != uid || st.st_gid != gid) return path + " has the wrong owner";
  return "";
}

// mkdir -p `dir`, then mode 0700 and `owner` on the last component.
Status MakePrivateDir(const std::string& dir, FileOwner owner) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return Status::IOError("cannot create " + dir + ": " + ec.message());
  if (::chmod(dir.c_str(), 0700) != 0) return Status::FromErrno(errno, "chmod 0700 " + dir);
  if ((owner.uid != static_cast<uid_t>(-1) || owner.gid != static_cast<gid_t>(-1)) &&
      ::chown(dir.c_str(), owner.uid, owner.gid) != 0) {
    return Status::FromErrno(errno, "chown " + dir);
  }
  return Status::Ok();
}

}  // namespace

// ---------------------------------------------------------------------------------------------

Status WriteFileAtomic(const std::string& path, std::string_view data, mode_t mode,
                       FileOwner owner) {
  std::string tmp = path + ".tmp-XXXXXX";
  int fd = ::mkostemp(tmp.data(), O_CLOEXEC);  // created 0600: never readable by others midway
  if (fd < 0) return Status::FromErrno(errno, "cannot create a temporary file beside " + path);
  auto fail = [&](const std::string& what) {
    Status s = Status::FromErrno(errno, what + " " + tmp);
    ::close(fd);
    ::unlink(tmp.c_str());
    return s;
  };
  if ((owner.uid != static_cast<uid_t>(-1) || owner.gid != static_cast<gid_t>(-1)) &&
      ::fchown(fd, owner.uid, owner.gid) != 0) {
    return fail("chown");
  }
  if (::fchmod(fd, mode) != 0) return fail("chmod");
  for (size_t off = 0; off < data.size();) {
    ssize_t n = ::write(fd, data.data() + off, data.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail("writing");
    off += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0) return fail("syncing");
  if (::close(fd) != 0) {
    Status s = Status::FromErrno(errno, "closing " + tmp);
    ::unlink(tmp.c_str());
    return s;
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    Status s = Status::FromErrno(errno, "renaming " + tmp + " to " + path);
    ::unlink(tmp.c_str());
    return s;
  }
  std::string dir = std::filesystem::path(path).parent_path().string();
  int dfd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) return Status::FromErrno(errno, "opening " + dir + " to sync it");
  int rc = ::fsync(dfd);
  int err = errno;
  ::close(dfd);
  if (rc != 0) return Status::FromErrno(err, "syncing " + dir);
  return Status::Ok();
}

bool IsIpAddress(std::string_view name) {
  std::string s(name);
  unsigned char buf[sizeof(in6_addr)];
  return ::inet_pton(AF_INET, s.c_str(), buf) == 1 || ::inet_pton(AF_INET6, s.c_str(), buf) == 1;
}

Status ValidateSubjectName(std::string_view name) {
  if (name.empty()) return Status::InvalidArgument("a certificate name must not be empty");
  if (IsIpAddress(name)) return Status::Ok();
  auto bad = [&](const std::string& why) {
    return Status::InvalidArgument("'" + std::string(name) +
                                   "' is neither an IP address nor a DNS name: " + why);
  };
  if (name.size() > 253) return bad("longer than 253 bytes");
  size_t start = 0;
  while (start <= name.size()) {
    size_t dot = name.find('.', start);
    std::string_view label =
        name.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
    if (label.empty()) return bad("an empty label");
    if (label.size() > 63) return bad("a label longer than 63 bytes");
    if (label.front() == '-' || label.back() == '-') return bad("a label starts or ends with '-'");
    for (char c : label) {
      bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                c == '-';
      if (!ok) return bad(std::string("the character '") + c + "' (letters, digits, '-' and '.' only)");
    }
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  return Status::Ok();
}

// ---------------------------------------------------------------------------------------------
// CertificateAuthority

Result<CertificateAuthority> CertificateAuthority::Create(std::string_view common_name,
                                                          int64_t now_s) {
  if (common_name.empty() || common_name.size() > 64) {
    return Status::InvalidArgument("a CA's common name must be 1..64 bytes");
  }
  ASSIGN_OR_RETURN(PkeyPtr key, NewEcKey());
  ASSIGN_OR_RETURN(X509Ptr cert, NewCertificate(key.get(), common_name, nullptr, now_s - 3600,
                                                now_s + kCaValiditySeconds));
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, cert.get(), cert.get(), nullptr, nullptr, 0);
  RETURN_IF_ERROR(AddExtension(cert.get(), &ctx, NID_basic_constraints, "critical,CA:TRUE"));
  RETURN_IF_ERROR(AddExtension(cert.get(), &ctx, NID_key_usage, "critical,keyCertSign,cRLSign"));
  RETURN_IF_ERROR(AddExtension(cert.get(), &ctx, NID_subject_key_identifier, "hash"));
  RETURN_IF_ERROR(Sign(cert.get(), key.get()));
  return CertificateAuthority(std::move(cert), std::move(key));
}

Result<CertificateAuthority> CertificateAuthority::Load(const std::string& cert_path,
                                                        const std::string& key_path,
                                                        int64_t now_s) {
  ASSIGN_OR_RETURN(std::string cert_pem, ReadSmallFile(cert_path, "CA certificate"));
  ASSIGN_OR_RETURN(std::vector<X509Ptr> certs,
                   ParseCertificates(cert_pem, "the CA certificate " + cert_path));
  ASSIGN_OR_RETURN(std::string key_pem, ReadSmallFile(key_path, "CA key"));
  ASSIGN_OR_RETURN(PkeyPtr key, ParsePrivateKey(key_pem, "the CA key " + key_path));
  X509Ptr cert = std::move(certs.front());
  if (!KeyMatches(cert.get(), key.get())) {
    return Status::InvalidArgument("the CA key " + key_path + " does not belong to the CA certificate " +
                                   cert_path + " (restore the pair, or remove both to make a new CA)");
  }
  if (X509_check_ca(cert.get()) < 1) {
    return Status::InvalidArgument("the CA certificate " + cert_path +
                                   " is not a CA certificate (basicConstraints CA:TRUE)");
  }
  RETURN_IF_ERROR(CheckValidAt(cert.get(), now_s, "the CA certificate " + cert_path));
  return CertificateAuthority(std::move(cert), std::move(key));
}

Result<CertificateAuthority> CertificateAuthority::LoadOrCreate(const std::string& cert_path,
                                                                const std::string& key_path,
                                                                std::string_view common_name,
                                                                int64_t now_s) {
  const bool have_cert = FileExists(cert_path), have_key = FileExists(key_path);
  if (have_cert && have_key) {
    // Files an older version (or a hand) left readable by others are made private again. The
    // CA is kept even if its key was readable: replacing it would break every client's trust.
    for (const std::string* path : {&key_path, &cert_path}) {
      if (::chmod(path->c_str(), 0600) != 0) return Status::FromErrno(errno, "chmod 0600 " + *path);
    }
    return Load(cert_path, key_path, now_s);
  }
  if (have_cert != have_key) {
    return Status::FailedPrecondition(
        (have_cert ? "the CA key " + key_path + " is missing but its certificate " + cert_path
                   : "the CA certificate " + cert_path + " is missing but its key " + key_path) +
        " exists: restore the missing file, or remove the other to make a new CA (clients "
        "trusting the old one must then be given the new " + cert_path + ")");
  }
  ASSIGN_OR_RETURN(CertificateAuthority ca, Create(common_name, now_s));
  RETURN_IF_ERROR(ca.Write(cert_path, key_path));
  return ca;
}

Status CertificateAuthority::Write(const std::string& cert_path, const std::string& key_path,
                                   FileOwner owner) const {
  ASSIGN_OR_RETURN(std::string key_pem, KeyPem(key_.get()));
  ASSIGN_OR_RETURN(std::string cert_pem, CertPem(cert_.get()));
  RETURN_IF_ERROR(WriteFileAtomic(key_path, key_pem, 0600, owner));
  return WriteFileAtomic(cert_path, cert_pem, 0600, owner);
}

std::string CertificateAuthority::CertificatePem() const {
  Result<std::string> pem = CertPem(cert_.get());
  return pem.ok() ? *pem : std::string();
}

Result<IssuedCertificate> CertificateAuthority::IssueServerCertificate(
    const std::vector<std::string>& names, int64_t now_s, int64_t validity_s) const {
  if (names.empty()) return Status::InvalidArgument("a server certificate needs at least one name");
  for (const std::string& n : names) RETURN_IF_ERROR(ValidateSubjectName(n));
  if (validity_s <= 0) return Status::InvalidArgument("a certificate's validity must be positive");
  // Never past the CA's own end: a chain is only as valid as its shortest link.
  int64_t not_after = now_s + validity_s;
  {
    time_t end = static_cast<time_t>(not_after);
    if (X509_cmp_time(X509_get0_notAfter(cert_.get()), &end) < 0) {
      struct tm tm {};
      if (ASN1_TIME_to_tm(X509_get0_notAfter(cert_.get()), &tm) == 1) not_after = timegm(&tm);
    }
  }
  ASSIGN_OR_RETURN(PkeyPtr key, NewEcKey());
  // A CN holds 64 bytes at most; the names that matter are in subjectAltName.
  std::string cn = names.front().size() <= 64 ? names.front() : "Rewind DB cluster";
  ASSIGN_OR_RETURN(X509Ptr cert,
                   NewCertificate(key.get(), cn, cert_.get(), now_s - 3600, not_after));
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, cert_.get(), cert.get(), nullptr, nullptr, 0);
  RETURN_IF_ERROR(AddExtension(cert.get(), &ctx, NID_basic_constraints, "critical,CA:FALSE"));
  RETURN_IF_ERROR(AddExtension(cert.get(), &ctx, NID_key_usage, "critical,digitalSignature"));
  RETURN_IF_ERROR(AddExtension(cert.get(), &ctx, NID_ext_key_usage, "serverAuth"));
  RETURN_IF_ERROR(AddExtension(cert.get(), &ctx, NID_subject_key_identifier, "hash"));
  RETURN_IF_ERROR(AddExtension(cert.get(), &ctx, NID_authority_key_identifier, "keyid:always"));
  RETURN_IF_ERROR(AddSubjectAltNames(cert.get(), names));
  RETURN_IF_ERROR(Sign(cert.get(), key_.get()));
  IssuedCertificate out;
  ASSIGN_OR_RETURN(out.cert_pem, CertPem(cert.get()));
  ASSIGN_OR_RETURN(out.key_pem, KeyPem(key.get()));
  return out;
}

Status CertificateAuthority::CheckServerCertificate(std::string_view cert_pem,
                                                    const std::vector<std::string>& names,
                                                    int64_t now_s, int64_t min_remaining_s) const {
  ASSIGN_OR_RETURN(std::vector<X509Ptr> certs, ParseCertificates(cert_pem, "the certificate"));
  X509* cert = certs.front().get();

  std::unique_ptr<X509_STORE, decltype(&X509_STORE_free)> store(X509_STORE_new(), X509_STORE_free);
  std::unique_ptr<X509_STORE_CTX, decltype(&X509_STORE_CTX_free)> vctx(X509_STORE_CTX_new(),
                                                                        X509_STORE_CTX_free);
  if (!store || !vctx || X509_STORE_add_cert(store.get(), cert_.get()) != 1 ||
      X509_STORE_CTX_init(vctx.get(), store.get(), cert, nullptr) != 1) {
    return SslFailure("setting up certificate verification");
  }
  X509_VERIFY_PARAM_set_time(X509_STORE_CTX_get0_param(vctx.get()), static_cast<time_t>(now_s));
  X509_STORE_CTX_set_purpose(vctx.get(), X509_PURPOSE_SSL_SERVER);
  if (X509_verify_cert(vctx.get()) != 1) {
    int err = X509_STORE_CTX_get_error(vctx.get());
    ERR_clear_error();
    return Status::InvalidArgument(std::string("the certificate does not verify against the CA: ") +
                                   X509_verify_cert_error_string(err));
  }
  time_t until = static_cast<time_t>(now_s + min_remaining_s);
  if (X509_cmp_time(X509_get0_notAfter(cert), &until) < 0) {
    return Status::InvalidArgument("the certificate expires at " +
                                   FormatTime(X509_get0_notAfter(cert)) + ", within " +
                                   std::to_string(min_remaining_s / kDaySeconds) + " days");
  }
  for (const std::string& n : names) {
    int ok = IsIpAddress(n) ? X509_check_ip_asc(cert, n.c_str(), 0)
                            : X509_check_host(cert, n.data(), n.size(), 0, nullptr);
    if (ok != 1) {
      ERR_clear_error();
      return Status::InvalidArgument("the certificate does not cover " + n);
    }
  }
  return Status::Ok();
}

// ---------------------------------------------------------------------------------------------

Result<ServerCertFiles> EnsureServerCertificate(const CertificateAuthority& ca,
                                                const std::string& dir,
                                                const std::vector<std::string>& names,
                                                FileOwner owner, int64_t now_s) {
  if (names.empty()) return Status::InvalidArgument("a server certificate needs at least one name");
  for (const std::string& n : names) RETURN_IF_ERROR(ValidateSubjectName(n));
  ServerCertFiles f;
  f.ca_path = dir + "/ca.pem";
  f.cert_path = dir + "/server-cert.pem";
  f.key_path = dir + "/server-key.pem";
  RETURN_IF_ERROR(MakePrivateDir(dir, owner));

  const std::string ca_pem = ca.CertificatePem();
  if (ca_pem.empty()) return SslFailure("encoding the CA certificate");
  Result<std::string> ca_copy = ReadSmallFile(f.ca_path, "CA certificate");
  if (!ca_copy.ok() || *ca_copy != ca_pem || !OwnershipProblem(f.ca_path, 0600, owner).empty()) {
    RETURN_IF_ERROR(WriteFileAtomic(f.ca_path, ca_pem, 0600, owner));
  }

  // Why the files in place will not do; empty if they will.
  auto problem = [&]() -> std::string {
    Result<std::string> cert_pem = ReadSmallFile(f.cert_path, "certificate");
    if (!cert_pem.ok()) return cert_pem.status().message();
    Result<std::string> key_pem = ReadSmallFile(f.key_path, "key");
    if (!key_pem.ok()) return key_pem.status().message();
    Result<std::vector<X509Ptr>> certs = ParseCertificates(*cert_pem, f.cert_path);
    if (!certs.ok()) return certs.status().message();
    Result<PkeyPtr> key = ParsePrivateKey(*key_pem, f.key_path);
    if (!key.ok()) return key.status().message();
    if (!KeyMatches(certs->front().get(), key->get())) return "the key does not match the certificate";
    Status s = ca.CheckServerCertificate(*cert_pem, names, now_s, kRenewBeforeSeconds);
    if (!s.ok()) return s.message();
    if (std::string p = OwnershipProblem(f.key_path, 0600, owner); !p.empty()) return p;
    return OwnershipProblem(f.cert_path, 0600, owner);
  };
  f.reason = problem();
  if (f.reason.empty()) return f;

  ASSIGN_OR_RETURN(IssuedCertificate issued, ca.IssueServerCertificate(names, now_s));
  // The key first: a crash between the two renames leaves a mismatch the next call repairs.
  RETURN_IF_ERROR(WriteFileAtomic(f.key_path, issued.key_pem, 0600, owner));
  RETURN_IF_ERROR(WriteFileAtomic(f.cert_path, issued.cert_pem, 0600, owner));
  f.issued = true;
  return f;
}

// ---------------------------------------------------------------------------------------------
// ServerIdentity

Result<ServerIdentity> ServerIdentity::Load(const std::string& cert_path,
                                            const std::string& key_path, int64_t now_s) {
  ServerIdentity id;
  id.cert_path_ = cert_path;
  ASSIGN_OR_RETURN(std::string cert_pem, ReadSmallFile(cert_path, "TLS certificate"));
  ASSIGN_OR_RETURN(id.chain_, ParseCertificates(cert_pem, "the TLS certificate " + cert_path));
  ASSIGN_OR_RETURN(std::string key_pem, ReadSmallFile(key_path, "TLS key"));
  ASSIGN_OR_RETURN(id.key_, ParsePrivateKey(key_pem, "the TLS key " + key_path));
  if (!KeyMatches(id.chain_.front().get(), id.key_.get())) {
    return Status::InvalidArgument("the TLS key " + key_path +
                                   " does not belong to the TLS certificate " + cert_path +
                                   " (the first certificate in the file must be the server's)");
  }
  RETURN_IF_ERROR(CheckValidAt(id.chain_.front().get(), now_s, "the TLS certificate " + cert_path));
  return id;
}

Status ServerIdentity::Configure(ssl_ctx_st* ctx) const {
  if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1) {
    return SslFailure("setting TLS 1.2 as the oldest version");
  }
  SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
  if (SSL_CTX_use_certificate(ctx, chain_.front().get()) != 1) {
    return SslFailure("using the TLS certificate " + cert_path_);
  }
  for (size_t i = 1; i < chain_.size(); ++i) {
    if (SSL_CTX_add1_chain_cert(ctx, chain_[i].get()) != 1) {
      return SslFailure("adding certificate " + std::to_string(i + 1) + " of " + cert_path_ +
                        " to the chain");
    }
  }
  if (SSL_CTX_use_PrivateKey(ctx, key_.get()) != 1 || SSL_CTX_check_private_key(ctx) != 1) {
    return SslFailure("using the TLS key of " + cert_path_);
  }
  return Status::Ok();
}

Status CheckCaBundle(const std::string& path) {
  ASSIGN_OR_RETURN(std::string pem, ReadSmallFile(path, "CA bundle"));
  return ParseCertificates(pem, "the CA bundle " + path).status();
}

// ---------------------------------------------------------------------------------------------

bool IsLoopbackHost(std::string_view host) {
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  std::string h(host);
  for (char& c : h) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (h == "localhost") return true;
  in_addr v4;
  if (::inet_pton(AF_INET, h.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
  in6_addr v6;
  if (::inet_pton(AF_INET6, h.c_str(), &v6) == 1) {
    if (IN6_IS_ADDR_LOOPBACK(&v6)) return true;
    return IN6_IS_ADDR_V4MAPPED(&v6) && v6.s6_addr[12] == 127;  // ::ffff:127.x.y.z
  }
  return false;
}

Status CheckPlainHttpListen(std::string_view host, bool tls_enabled, bool allow_plain_http) {
  if (tls_enabled || allow_plain_http || IsLoopbackHost(host)) return Status::Ok();
  return Status::FailedPrecondition(
      "refusing to serve the API over plain HTTP on " + std::string(host) +
      ", which is not a loopback address: SigV4 signatures, master passwords and everything "
      "else would cross the network in clear. Give --tls-cert FILE --tls-key FILE to serve "
      "HTTPS, listen on 127.0.0.1, or, on a network you trust, add "
      "--allow-plain-http-on-trusted-network");
}

}  // namespace rwd::tls
