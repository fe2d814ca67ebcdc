#include "tls/tls.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ctime>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "common/test_util.h"

namespace rwd::tls {
namespace {

using ::rwd::testing::TempDir;

const int64_t kNow = 1'796'000'000;  // 2026-11-30, a fixed clock

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}
void WriteFile(const std::string& path, const std::string& data) {
  std::ofstream out(path, std::ios::trunc);
  out << data;
}
mode_t ModeOf(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
  return st.st_mode & 07777;
}

X509Ptr ParseCert(const std::string& pem) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  X509* c = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  return X509Ptr(c);
}
PkeyPtr ParseKey(const std::string& pem) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  EVP_PKEY* k = PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  return PkeyPtr(k);
}

// X509_verify_cert of `leaf` against `ca` at `now`, as a TLS server certificate.
int Verify(X509* ca, X509* leaf, int64_t now) {
  X509_STORE* store = X509_STORE_new();
  X509_STORE_add_cert(store, ca);
  X509_STORE_CTX* ctx = X509_STORE_CTX_new();
  X509_STORE_CTX_init(ctx, store, leaf, nullptr);
  X509_VERIFY_PARAM_set_time(X509_STORE_CTX_get0_param(ctx), static_cast<time_t>(now));
  X509_STORE_CTX_set_purpose(ctx, X509_PURPOSE_SSL_SERVER);
  int rc = X509_verify_cert(ctx) == 1 ? X509_V_OK : X509_STORE_CTX_get_error(ctx);
  X509_STORE_CTX_free(ctx);
  X509_STORE_free(store);
  return rc;
}

CertificateAuthority NewCa(int64_t now = kNow) {
  Result<CertificateAuthority> ca = CertificateAuthority::Create("Test CA", now);
  EXPECT_TRUE(ca.ok()) << ca.status().ToString();
  return std::move(ca).value();
}

const std::vector<std::string> kNames = {"127.0.0.1", "localhost"};

TEST(TlsCa, IsASelfSignedTenYearCaThatMaySignCertificatesOnly) {
  CertificateAuthority ca = NewCa();
  X509Ptr cert = ParseCert(ca.CertificatePem());
  ASSERT_TRUE(cert);
  EXPECT_EQ(X509_check_ca(cert.get()), 1);
  EXPECT_EQ(X509_check_issued(cert.get(), cert.get()), X509_V_OK);
  EXPECT_EQ(X509_verify(cert.get(), X509_get0_pubkey(cert.get())), 1);
  // basicConstraints and keyUsage are critical; keyUsage is exactly keyCertSign + cRLSign.
  int crit = -1;
  auto* bc = static_cast<BASIC_CONSTRAINTS*>(
      X509_get_ext_d2i(cert.get(), NID_basic_constraints, &crit, nullptr));
  ASSERT_NE(bc, nullptr);
  EXPECT_TRUE(bc->ca);
  EXPECT_EQ(crit, 1);
  BASIC_CONSTRAINTS_free(bc);
  EXPECT_EQ(X509_get_key_usage(cert.get()), static_cast<uint32_t>(KU_KEY_CERT_SIGN | KU_CRL_SIGN));
  int days = 0, secs = 0;
  ASSERT_EQ(ASN1_TIME_diff(&days, &secs, X509_get0_notBefore(cert.get()),
                           X509_get0_notAfter(cert.get())), 1);
  EXPECT_GE(days, 3650);
  EXPECT_LE(days, 3651);
  EXPECT_EQ(EVP_PKEY_get_base_id(X509_get0_pubkey(cert.get())), EVP_PKEY_EC);
  EXPECT_FALSE(CertificateAuthority::Create("", kNow).ok());
}

TEST(TlsCa, IssuesAServerCertificateThatVerifiesAndCoversItsNames) {
  CertificateAuthority ca = NewCa();
  Result<IssuedCertificate> issued = ca.IssueServerCertificate(kNames, kNow);
  ASSERT_TRUE(issued.ok()) << issued.status().ToString();
  X509Ptr leaf = ParseCert(issued->cert_pem);
  PkeyPtr key = ParseKey(issued->key_pem);
  ASSERT_TRUE(leaf && key);
  X509Ptr ca_cert = ParseCert(ca.CertificatePem());

  EXPECT_EQ(Verify(ca_cert.get(), leaf.get(), kNow), X509_V_OK);
  EXPECT_EQ(X509_check_private_key(leaf.get(), key.get()), 1);
  EXPECT_EQ(X509_check_ip_asc(leaf.get(), "127.0.0.1", 0), 1);
  EXPECT_EQ(X509_check_host(leaf.get(), "localhost", 0, 0, nullptr), 1);
  EXPECT_NE(X509_check_ip_asc(leaf.get(), "127.0.0.2", 0), 1);
  EXPECT_NE(X509_check_host(leaf.get(), "example.com", 0, 0, nullptr), 1);
  // The address is an IP SAN, not a DNS name that merely spells it.
  EXPECT_NE(X509_check_host(leaf.get(), "127.0.0.1", 0, X509_CHECK_FLAG_NEVER_CHECK_SUBJECT,
                            nullptr), 1);
  EXPECT_TRUE(X509_get_extended_key_usage(leaf.get()) & XKU_SSL_SERVER);
  EXPECT_EQ(X509_check_ca(leaf.get()), 0);
  int days = 0, secs = 0;
  ASSERT_EQ(ASN1_TIME_diff(&days, &secs, X509_get0_notBefore(leaf.get()),
                           X509_get0_notAfter(leaf.get())), 1);
  EXPECT_GE(days, 365);
  EXPECT_LE(days, 366);
  EXPECT_TRUE(ca.CheckServerCertificate(issued->cert_pem, kNames, kNow).ok());
  ERR_clear_error();
}

TEST(TlsCa, ADnsOnlyCertificateAndAnIpv6Address) {
  CertificateAuthority ca = NewCa();
  auto issued = ca.IssueServerCertificate({"db.example.internal", "::1"}, kNow);
  ASSERT_TRUE(issued.ok()) << issued.status().ToString();
  X509Ptr leaf = ParseCert(issued->cert_pem);
  EXPECT_EQ(X509_check_host(leaf.get(), "db.example.internal", 0, 0, nullptr), 1);
  EXPECT_EQ(X509_check_ip_asc(leaf.get(), "::1", 0), 1);
  EXPECT_TRUE(ca.CheckServerCertificate(issued->cert_pem, {"db.example.internal", "::1"}, kNow).ok());
  EXPECT_FALSE(ca.CheckServerCertificate(issued->cert_pem, {"127.0.0.1"}, kNow).ok());
}

TEST(TlsCa, RefusesBadNamesAndValidity) {
  CertificateAuthority ca = NewCa();
  EXPECT_EQ(ca.IssueServerCertificate({}, kNow).status().code(), Status::Code::kInvalidArgument);
  for (const char* bad : {"", "bad name", "*.example.com", "-a.example", "a-.example", "a..b",
                          "a,IP:10.0.0.1", "x/y", "a.b."}) {
    Status s = ca.IssueServerCertificate({bad}, kNow).status();
    EXPECT_EQ(s.code(), Status::Code::kInvalidArgument) << "'" << bad << "': " << s.ToString();
  }
  EXPECT_FALSE(ca.IssueServerCertificate({std::string(64, 'a') + ".example"}, kNow).ok());
  EXPECT_FALSE(ca.IssueServerCertificate({std::string(254, 'a')}, kNow).ok());
  EXPECT_FALSE(ca.IssueServerCertificate(kNames, kNow, 0).ok());
  // A long (valid) DNS name fits in subjectAltName even though a CN holds 64 bytes only.
  std::string longname = std::string(63, 'a') + "." + std::string(63, 'b') + ".example";
  auto ok = ca.IssueServerCertificate({longname}, kNow);
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_TRUE(ca.CheckServerCertificate(ok->cert_pem, {longname}, kNow).ok());
}

TEST(TlsCa, CheckRejectsAnotherCaExpiryAndNames) {
  CertificateAuthority ca = NewCa(), other = NewCa();
  auto issued = ca.IssueServerCertificate(kNames, kNow);
  ASSERT_TRUE(issued.ok());
  Status s = other.CheckServerCertificate(issued->cert_pem, kNames, kNow);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("does not verify"), std::string::npos) << s.message();
  // Thirty-five days before the end: fine for 30 days, not for 40.
  const int64_t later = kNow + 330 * kDaySeconds;
  EXPECT_TRUE(ca.CheckServerCertificate(issued->cert_pem, kNames, later, 30 * kDaySeconds).ok());
  s = ca.CheckServerCertificate(issued->cert_pem, kNames, later, 40 * kDaySeconds);
  EXPECT_NE(s.message().find("expires"), std::string::npos) << s.message();
  s = ca.CheckServerCertificate(issued->cert_pem, kNames, kNow + 400 * kDaySeconds);
  EXPECT_NE(s.message().find("expired"), std::string::npos) << s.message();
  s = ca.CheckServerCertificate(issued->cert_pem, {"127.0.0.1", "db.example"}, kNow);
  EXPECT_NE(s.message().find("does not cover db.example"), std::string::npos) << s.message();
  EXPECT_FALSE(ca.CheckServerCertificate("not a certificate", kNames, kNow).ok());
}

TEST(TlsCa, AServerCertificateNeverOutlivesItsCa) {
  CertificateAuthority ca = NewCa();
  // Issued nine and a half years on: capped at the CA's end, half a year later.
  const int64_t late = kNow + 3650 * kDaySeconds - 180 * kDaySeconds;
  auto issued = ca.IssueServerCertificate(kNames, late);
  ASSERT_TRUE(issued.ok());
  X509Ptr leaf = ParseCert(issued->cert_pem);
  X509Ptr ca_cert = ParseCert(ca.CertificatePem());
  EXPECT_EQ(ASN1_TIME_compare(X509_get0_notAfter(leaf.get()), X509_get0_notAfter(ca_cert.get())), 0);
}

TEST(TlsCa, WritesPrivatelyAndLoadsBack) {
  TempDir dir;
  const std::string cert = dir.path() + "/ca.pem", key = dir.path() + "/ca-key.pem";
  CertificateAuthority ca = NewCa();
  ASSERT_TRUE(ca.Write(cert, key).ok());
  EXPECT_EQ(ModeOf(key), 0600u);
  EXPECT_EQ(ModeOf(cert), 0600u);
  for (const auto& e : std::filesystem::directory_iterator(dir.path())) {
    EXPECT_EQ(e.path().string().find(".tmp-"), std::string::npos) << e.path();
  }
  auto loaded = CertificateAuthority::Load(cert, key, kNow);
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  EXPECT_EQ(loaded->CertificatePem(), ca.CertificatePem());
  // The loaded CA signs certificates the original's certificate verifies.
  auto issued = loaded->IssueServerCertificate(kNames, kNow);
  ASSERT_TRUE(issued.ok());
  EXPECT_TRUE(ca.CheckServerCertificate(issued->cert_pem, kNames, kNow).ok());

  // Files left readable by others are made private again; the CA itself is kept.
  ASSERT_EQ(::chmod(key.c_str(), 0644), 0);
  ASSERT_EQ(::chmod(cert.c_str(), 0644), 0);
  auto again = CertificateAuthority::LoadOrCreate(cert, key, "Other", kNow);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->CertificatePem(), ca.CertificatePem());
  EXPECT_EQ(ModeOf(key), 0600u);
  EXPECT_EQ(ModeOf(cert), 0600u);
}

TEST(TlsCa, LoadNamesTheFileAndTheProblem) {
  TempDir dir;
  const std::string cert = dir.path() + "/ca.pem", key = dir.path() + "/ca-key.pem";
  Status s = CertificateAuthority::Load(cert, key, kNow).status();
  EXPECT_EQ(s.code(), Status::Code::kNotFound);
  EXPECT_NE(s.message().find(cert), std::string::npos) << s.message();

  CertificateAuthority ca = NewCa(), other = NewCa();
  ASSERT_TRUE(ca.Write(cert, key).ok());
  const std::string other_cert = dir.path() + "/o.pem", other_key = dir.path() + "/o-key.pem";
  ASSERT_TRUE(other.Write(other_cert, other_key).ok());

  s = CertificateAuthority::Load(cert, other_key, kNow).status();
  EXPECT_NE(s.message().find("does not belong"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find(other_key), std::string::npos) << s.message();

  WriteFile(dir.path() + "/junk.pem", "hello\n");
  s = CertificateAuthority::Load(dir.path() + "/junk.pem", key, kNow).status();
  EXPECT_EQ(s.code(), Status::Code::kInvalidArgument);
  EXPECT_NE(s.message().find("no PEM certificate"), std::string::npos) << s.message();
  s = CertificateAuthority::Load(cert, dir.path() + "/junk.pem", kNow).status();
  EXPECT_NE(s.message().find("no PEM private key"), std::string::npos) << s.message();

  // A server certificate is no CA.
  auto issued = ca.IssueServerCertificate(kNames, kNow);
  WriteFile(dir.path() + "/leaf.pem", issued->cert_pem);
  WriteFile(dir.path() + "/leaf-key.pem", issued->key_pem);
  s = CertificateAuthority::Load(dir.path() + "/leaf.pem", dir.path() + "/leaf-key.pem", kNow)
          .status();
  EXPECT_NE(s.message().find("not a CA"), std::string::npos) << s.message();

  s = CertificateAuthority::Load(cert, key, kNow + 3651 * kDaySeconds).status();
  EXPECT_NE(s.message().find("expired"), std::string::npos) << s.message();

  // Half a CA is never replaced silently.
  ASSERT_EQ(::unlink(key.c_str()), 0);
  s = CertificateAuthority::LoadOrCreate(cert, key, "Test CA", kNow).status();
  EXPECT_EQ(s.code(), Status::Code::kFailedPrecondition);
  EXPECT_NE(s.message().find(key), std::string::npos) << s.message();
  EXPECT_EQ(ReadFile(cert), ca.CertificatePem());
}

TEST(TlsFiles, WriteFileAtomicSetsModeAndLeavesNothingOnFailure) {
  TempDir dir;
  const std::string p = dir.path() + "/f";
  ASSERT_TRUE(WriteFileAtomic(p, "one", 0600).ok());
  EXPECT_EQ(ReadFile(p), "one");
  EXPECT_EQ(ModeOf(p), 0600u);
  ASSERT_TRUE(WriteFileAtomic(p, "two", 0640).ok());
  EXPECT_EQ(ReadFile(p), "two");
  EXPECT_EQ(ModeOf(p), 0640u);
  Status s = WriteFileAtomic(dir.path() + "/missing/f", "x", 0600);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find(dir.path() + "/missing/f"), std::string::npos) << s.message();
  int n = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir.path())) ++n;
  EXPECT_EQ(n, 1);
}

TEST(TlsEnsure, IssuesOnceThenKeepsThenRenewsWhenNeeded) {
  TempDir dir;
  CertificateAuthority ca = NewCa();
  const std::string d = dir.path() + "/tls/clusters/c1";
  auto f = EnsureServerCertificate(ca, d, kNames, {}, kNow);
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_TRUE(f->issued);
  EXPECT_NE(f->reason.find("cannot read"), std::string::npos) << f->reason;
  EXPECT_EQ(ModeOf(d), 0700u);
  EXPECT_EQ(ModeOf(f->key_path), 0600u);
  EXPECT_EQ(ModeOf(f->cert_path), 0600u);
  EXPECT_EQ(ReadFile(f->ca_path), ca.CertificatePem());
  const std::string first = ReadFile(f->cert_path);
  EXPECT_TRUE(ca.CheckServerCertificate(first, kNames, kNow).ok());
  X509Ptr leaf = ParseCert(first);
  PkeyPtr key = ParseKey(ReadFile(f->key_path));
  EXPECT_EQ(X509_check_private_key(leaf.get(), key.get()), 1);

  // Nothing to do a day later.
  f = EnsureServerCertificate(ca, d, kNames, {}, kNow + kDaySeconds);
  ASSERT_TRUE(f.ok());
  EXPECT_FALSE(f->issued) << f->reason;
  EXPECT_EQ(ReadFile(f->cert_path), first);

  // Within 30 days of its end: a new certificate, with a new key.
  const std::string old_key = ReadFile(f->key_path);
  f = EnsureServerCertificate(ca, d, kNames, {}, kNow + 340 * kDaySeconds);
  ASSERT_TRUE(f.ok());
  EXPECT_TRUE(f->issued);
  EXPECT_NE(f->reason.find("expires"), std::string::npos) << f->reason;
  EXPECT_NE(ReadFile(f->key_path), old_key);
  EXPECT_TRUE(ca.CheckServerCertificate(ReadFile(f->cert_path), kNames, kNow + 340 * kDaySeconds,
                                        300 * kDaySeconds).ok());
}

TEST(TlsEnsure, ReissuesForANewEndpointANewCaADamagedOrLooseFile) {
  TempDir dir;
  CertificateAuthority ca = NewCa();
  const std::string d = dir.path() + "/c";
  ASSERT_TRUE(EnsureServerCertificate(ca, d, kNames, {}, kNow).ok());

  auto f = EnsureServerCertificate(ca, d, {"10.1.2.3", "localhost"}, {}, kNow);
  ASSERT_TRUE(f.ok());
  EXPECT_TRUE(f->issued);
  EXPECT_NE(f->reason.find("does not cover 10.1.2.3"), std::string::npos) << f->reason;

  CertificateAuthority other = NewCa();
  f = EnsureServerCertificate(other, d, {"10.1.2.3", "localhost"}, {}, kNow);
  ASSERT_TRUE(f.ok());
  EXPECT_TRUE(f->issued);
  EXPECT_EQ(ReadFile(f->ca_path), other.CertificatePem());
  EXPECT_TRUE(other.CheckServerCertificate(ReadFile(f->cert_path), {"10.1.2.3"}, kNow).ok());

  // A key torn or swapped (a crash between the two renames): re-issued.
  auto stray = other.IssueServerCertificate(kNames, kNow);
  WriteFile(f->key_path, stray->key_pem);
  f = EnsureServerCertificate(other, d, {"10.1.2.3", "localhost"}, {}, kNow);
  ASSERT_TRUE(f.ok());
  EXPECT_TRUE(f->issued);
  EXPECT_NE(f->reason.find("does not match"), std::string::npos) << f->reason;
  WriteFile(f->cert_path, "garbage");
  f = EnsureServerCertificate(other, d, {"10.1.2.3", "localhost"}, {}, kNow);
  ASSERT_TRUE(f.ok());
  EXPECT_TRUE(f->issued);

  // A key others may read is replaced, not just re-moded: it may have been read.
  ASSERT_EQ(::chmod(f->key_path.c_str(), 0644), 0);
  const std::string loose = ReadFile(f->key_path);
  f = EnsureServerCertificate(other, d, {"10.1.2.3", "localhost"}, {}, kNow);
  ASSERT_TRUE(f.ok());
  EXPECT_TRUE(f->issued);
  EXPECT_EQ(ModeOf(f->key_path), 0600u);
  EXPECT_NE(ReadFile(f->key_path), loose);

  EXPECT_EQ(EnsureServerCertificate(other, d, {"no good"}, {}, kNow).status().code(),
            Status::Code::kInvalidArgument);
  EXPECT_FALSE(EnsureServerCertificate(other, d, {}, {}, kNow).ok());
}

TEST(TlsEnsure, GivesTheDirectoryAndFilesToTheOwner) {
  // chown to another user needs root; the tests run as root (see the working rules).
  ASSERT_EQ(::geteuid(), 0u) << "this test needs root (chown to another user)";
  TempDir dir;
  CertificateAuthority ca = NewCa();
  const std::string d = dir.path() + "/engine";
  const FileOwner nobody{65534, 65534};
  auto f = EnsureServerCertificate(ca, d, kNames, nobody, kNow);
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  for (const std::string& p : {d, f->ca_path, f->cert_path, f->key_path}) {
    struct stat st {};
    ASSERT_EQ(::stat(p.c_str(), &st), 0);
    EXPECT_EQ(st.st_uid, 65534u) << p;
    EXPECT_EQ(st.st_gid, 65534u) << p;
  }
  f = EnsureServerCertificate(ca, d, kNames, nobody, kNow);
  ASSERT_TRUE(f.ok());
  EXPECT_FALSE(f->issued) << f->reason;
  // Back to the default owner (root): the key is re-issued for it.
  f = EnsureServerCertificate(ca, d, kNames, {}, kNow);
  ASSERT_TRUE(f.ok());
  EXPECT_TRUE(f->issued);
  EXPECT_NE(f->reason.find("owner"), std::string::npos) << f->reason;
}

// A real TLS handshake in memory: a server with an EnsureServerCertificate identity, a client
// that trusts only the CA and checks the address, as `mysql --ssl-verify-server-cert` does.
int Handshake(const ServerIdentity& id, X509* trusted, const char* ip) {
  SSL_CTX* sctx = SSL_CTX_new(TLS_server_method());
  SSL_CTX* cctx = SSL_CTX_new(TLS_client_method());
  EXPECT_TRUE(id.Configure(sctx).ok());
  X509_STORE_add_cert(SSL_CTX_get_cert_store(cctx), trusted);
  SSL_CTX_set_verify(cctx, SSL_VERIFY_PEER, nullptr);
  SSL* s = SSL_new(sctx);
  SSL* c = SSL_new(cctx);
  X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(c), ip);
  BIO *sb = nullptr, *cb = nullptr;
  BIO_new_bio_pair(&sb, 0, &cb, 0);
  SSL_set_bio(s, sb, sb);
  SSL_set_bio(c, cb, cb);
  SSL_set_accept_state(s);
  SSL_set_connect_state(c);
  int rs = 0, rc = 0;
  for (int i = 0; i < 100 && (rs != 1 || rc != 1); ++i) {
    if (rc != 1) {
      rc = SSL_do_handshake(c);
      if (rc <= 0 && SSL_get_error(c, rc) != SSL_ERROR_WANT_READ) break;
    }
    if (rs != 1) {
      rs = SSL_do_handshake(s);
      if (rs <= 0 && SSL_get_error(s, rs) != SSL_ERROR_WANT_READ) break;
    }
  }
  long verify = SSL_get_verify_result(c);
  int out = (rs == 1 && rc == 1) ? X509_V_OK : (verify != X509_V_OK ? static_cast<int>(verify) : -1);
  SSL_free(s);
  SSL_free(c);
  SSL_CTX_free(sctx);
  SSL_CTX_free(cctx);
  ERR_clear_error();
  return out;
}

TEST(TlsServerIdentity, LoadsAPairAndHandshakesWithAVerifyingClient) {
  TempDir dir;
  CertificateAuthority ca = NewCa(std::time(nullptr));
  auto f = EnsureServerCertificate(ca, dir.path(), kNames, {}, std::time(nullptr));
  ASSERT_TRUE(f.ok());
  auto id = ServerIdentity::Load(f->cert_path, f->key_path, std::time(nullptr));
  ASSERT_TRUE(id.ok()) << id.status().ToString();
  X509Ptr ca_cert = ParseCert(ca.CertificatePem());
  EXPECT_EQ(Handshake(*id, ca_cert.get(), "127.0.0.1"), X509_V_OK);
  EXPECT_EQ(Handshake(*id, ca_cert.get(), "127.0.0.2"), X509_V_ERR_IP_ADDRESS_MISMATCH);
  CertificateAuthority other = NewCa(std::time(nullptr));
  X509Ptr other_cert = ParseCert(other.CertificatePem());
  EXPECT_NE(Handshake(*id, other_cert.get(), "127.0.0.1"), X509_V_OK);
}

TEST(TlsServerIdentity, RefusesBadFilesNamingThem) {
  TempDir dir;
  CertificateAuthority ca = NewCa();
  auto f = EnsureServerCertificate(ca, dir.path(), kNames, {}, kNow);
  ASSERT_TRUE(f.ok());
  const std::string missing = dir.path() + "/nope.pem";
  Status s = ServerIdentity::Load(missing, f->key_path, kNow).status();
  EXPECT_EQ(s.code(), Status::Code::kNotFound);
  EXPECT_NE(s.message().find(missing), std::string::npos) << s.message();
  s = ServerIdentity::Load(f->cert_path, missing, kNow).status();
  EXPECT_NE(s.message().find(missing), std::string::npos) << s.message();
  s = ServerIdentity::Load(f->key_path, f->key_path, kNow).status();
  EXPECT_NE(s.message().find("no PEM certificate"), std::string::npos) << s.message();
  s = ServerIdentity::Load(f->cert_path, f->cert_path, kNow).status();
  EXPECT_NE(s.message().find("no PEM private key"), std::string::npos) << s.message();
  s = ServerIdentity::Load(dir.path(), f->key_path, kNow).status();
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find(dir.path()), std::string::npos) << s.message();

  auto stray = ca.IssueServerCertificate(kNames, kNow);
  WriteFile(dir.path() + "/stray-key.pem", stray->key_pem);
  s = ServerIdentity::Load(f->cert_path, dir.path() + "/stray-key.pem", kNow).status();
  EXPECT_NE(s.message().find("does not belong"), std::string::npos) << s.message();

  s = ServerIdentity::Load(f->cert_path, f->key_path, kNow + 400 * kDaySeconds).status();
  EXPECT_NE(s.message().find("expired"), std::string::npos) << s.message();
  s = ServerIdentity::Load(f->cert_path, f->key_path, kNow - 2 * kDaySeconds).status();
  EXPECT_NE(s.message().find("not valid yet"), std::string::npos) << s.message();

  // An encrypted key is refused without asking for a passphrase.
  PkeyPtr key = ParseKey(ReadFile(f->key_path));
  BIO* bio = BIO_new(BIO_s_mem());
  const char pass[] = "secret";
  ASSERT_EQ(PEM_write_bio_PKCS8PrivateKey(bio, key.get(), EVP_aes_256_cbc(), pass,
                                          sizeof(pass) - 1, nullptr, nullptr), 1);
  char* data = nullptr;
  long n = BIO_get_mem_data(bio, &data);
  WriteFile(dir.path() + "/enc.pem", std::string(data, static_cast<size_t>(n)));
  BIO_free(bio);
  s = ServerIdentity::Load(f->cert_path, dir.path() + "/enc.pem", kNow).status();
  EXPECT_NE(s.message().find("encrypted"), std::string::npos) << s.message();

  // A chain: the server's certificate first, then more; the key must match the first.
  WriteFile(dir.path() + "/chain.pem", ReadFile(f->cert_path) + ca.CertificatePem());
  auto chain = ServerIdentity::Load(dir.path() + "/chain.pem", f->key_path, kNow);
  EXPECT_TRUE(chain.ok()) << chain.status().ToString();
  WriteFile(dir.path() + "/rchain.pem", ca.CertificatePem() + ReadFile(f->cert_path));
  EXPECT_FALSE(ServerIdentity::Load(dir.path() + "/rchain.pem", f->key_path, kNow).ok());
}

TEST(TlsCaBundle, NeedsAReadableFileWithACertificate) {
  TempDir dir;
  CertificateAuthority ca = NewCa();
  WriteFile(dir.path() + "/ca.pem", ca.CertificatePem());
  EXPECT_TRUE(CheckCaBundle(dir.path() + "/ca.pem").ok());
  WriteFile(dir.path() + "/empty.pem", "");
  Status s = CheckCaBundle(dir.path() + "/empty.pem");
  EXPECT_EQ(s.code(), Status::Code::kInvalidArgument);
  EXPECT_NE(s.message().find(dir.path() + "/empty.pem"), std::string::npos) << s.message();
  EXPECT_EQ(CheckCaBundle(dir.path() + "/none.pem").code(), Status::Code::kNotFound);
}

TEST(TlsListen, LoopbackOnlyOverPlainHttp) {
  for (const char* h : {"127.0.0.1", "127.1.2.3", "127.255.255.255", "::1", "[::1]", "localhost",
                        "LocalHost", "::ffff:127.0.0.1"}) {
    EXPECT_TRUE(IsLoopbackHost(h)) << h;
    EXPECT_TRUE(CheckPlainHttpListen(h, false, false).ok()) << h;
  }
  for (const char* h : {"0.0.0.0", "::", "[::]", "10.0.0.1", "128.0.0.1", "126.255.255.255",
                        "::2", "::ffff:10.0.0.1", "example.com", "localhost.example", ""}) {
    EXPECT_FALSE(IsLoopbackHost(h)) << h;
    Status s = CheckPlainHttpListen(h, false, false);
    EXPECT_EQ(s.code(), Status::Code::kFailedPrecondition) << h;
    EXPECT_NE(s.message().find("--tls-cert"), std::string::npos) << s.message();
    EXPECT_NE(s.message().find("--tls-key"), std::string::npos) << s.message();
    EXPECT_NE(s.message().find("--allow-plain-http-on-trusted-network"), std::string::npos);
    EXPECT_TRUE(CheckPlainHttpListen(h, true, false).ok()) << h;
    EXPECT_TRUE(CheckPlainHttpListen(h, false, true).ok()) << h;
  }
}

}  // namespace
}  // namespace rwd::tls
