#include "console/session.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

namespace rwd::console {
namespace {

constexpr int64_t kSec = 1'000'000'000;
const api::Credentials kCreds{"AKIAABCDEFGHIJKLMNOP", "abcdefghijklmnopqrstuvwxyz0123456789+/AB"};

class SessionStoreTest : public ::testing::Test {
 protected:
  SessionOptions Options() {
    SessionOptions o;
    o.clock = [this] { return now_; };
    o.idle_timeout_ns = 60 * kSec;
    o.absolute_timeout_ns = 300 * kSec;
    o.login_burst = 3;
    o.login_refill_ns = 10 * kSec;
    o.global_login_burst = 100;
    o.global_login_refill_ns = kSec;
    return o;
  }
  LoginResult Login(SessionStore& s, std::string_view secret, std::string_view addr = "10.0.0.1") {
    Result<LoginResult> r = s.Login(addr, kCreds.access_key_id, secret);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : LoginResult{};
  }
  int64_t now_ = 1'800'000'000 * kSec;
};

TEST_F(SessionStoreTest, RightKeyMakesASessionWithRandomIdAndToken) {
  SessionStore s(kCreds, Options());
  LoginResult a = Login(s, kCreds.secret_access_key);
  ASSERT_EQ(a.outcome, LoginResult::Outcome::kOk);
  EXPECT_EQ(a.session_id.size(), 43u);
  EXPECT_EQ(a.session.csrf_token.size(), 43u);
  EXPECT_NE(a.session_id, a.session.csrf_token);
  EXPECT_EQ(a.session.access_key_id, kCreds.access_key_id);
  EXPECT_EQ(a.session.expires_ns, now_ + 60 * kSec);
  LoginResult b = Login(s, kCreds.secret_access_key);
  EXPECT_NE(a.session_id, b.session_id);
  EXPECT_NE(a.session.csrf_token, b.session.csrf_token);
  std::optional<Session> found = s.Find(a.session_id);
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->csrf_token, a.session.csrf_token);
  EXPECT_EQ(s.size(), 2u);
}

TEST_F(SessionStoreTest, WrongSecretOrKeyIdIsRefused) {
  SessionStore s(kCreds, Options());
  EXPECT_EQ(Login(s, "wrong").outcome, LoginResult::Outcome::kRefused);
  std::string almost = kCreds.secret_access_key;
  almost.back() = 'C';
  EXPECT_EQ(Login(s, almost).outcome, LoginResult::Outcome::kRefused);
  Result<LoginResult> r = s.Login("10.0.0.2", "AKIAABCDEFGHIJKLMNOQ", kCreds.secret_access_key);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->outcome, LoginResult::Outcome::kRefused);
  EXPECT_TRUE(r->session_id.empty());
  EXPECT_EQ(s.size(), 0u);
  // A huge input is refused like any wrong one.
  EXPECT_EQ(Login(s, std::string(100000, 'x'), "10.0.0.3").outcome,
            LoginResult::Outcome::kRefused);
}

TEST_F(SessionStoreTest, UnknownOrEmptySessionIdFindsNothing) {
  SessionStore s(kCreds, Options());
  LoginResult a = Login(s, kCreds.secret_access_key);
  EXPECT_FALSE(s.Find("").has_value());
  EXPECT_FALSE(s.Find("nope").has_value());
  std::string other = a.session_id;
  other[0] = other[0] == 'A' ? 'B' : 'A';
  EXPECT_FALSE(s.Find(other).has_value());
  // The CSRF token is no session id.
  EXPECT_FALSE(s.Find(a.session.csrf_token).has_value());
}

TEST_F(SessionStoreTest, IdleAndAbsoluteExpiry) {
  SessionStore s(kCreds, Options());
  LoginResult a = Login(s, kCreds.secret_access_key);
  // Requests every 50 s keep it alive past the idle limit...
  for (int i = 0; i < 5; ++i) {
    now_ += 50 * kSec;
    std::optional<Session> f = s.Find(a.session_id);
    ASSERT_TRUE(f.has_value()) << "after " << (i + 1) * 50 << " s";
    EXPECT_EQ(f->expires_ns, std::min(now_ + 60 * kSec, a.session.created_ns + 300 * kSec));
  }
  // ...but not past the absolute one.
  now_ += 50 * kSec;  // 300 s after login
  EXPECT_FALSE(s.Find(a.session_id).has_value());

  LoginResult b = Login(s, kCreds.secret_access_key);
  now_ += 60 * kSec;  // idle exactly the limit
  EXPECT_FALSE(s.Find(b.session_id).has_value());
  EXPECT_EQ(s.size(), 0u);
}

TEST_F(SessionStoreTest, LogoutEndsTheSession) {
  SessionStore s(kCreds, Options());
  LoginResult a = Login(s, kCreds.secret_access_key);
  LoginResult b = Login(s, kCreds.secret_access_key);
  EXPECT_TRUE(s.Logout(a.session_id));
  EXPECT_FALSE(s.Logout(a.session_id));
  EXPECT_FALSE(s.Find(a.session_id).has_value());
  EXPECT_TRUE(s.Find(b.session_id).has_value());
}

TEST_F(SessionStoreTest, CsrfTokenMustMatchExactly) {
  SessionStore s(kCreds, Options());
  LoginResult a = Login(s, kCreds.secret_access_key);
  LoginResult b = Login(s, kCreds.secret_access_key);
  EXPECT_TRUE(SessionStore::CsrfMatches(a.session, a.session.csrf_token));
  EXPECT_FALSE(SessionStore::CsrfMatches(a.session, b.session.csrf_token));
  EXPECT_FALSE(SessionStore::CsrfMatches(a.session, ""));
  EXPECT_FALSE(SessionStore::CsrfMatches(a.session, a.session.csrf_token.substr(1)));
  EXPECT_FALSE(SessionStore::CsrfMatches(Session{}, ""));
}

TEST_F(SessionStoreTest, FailedLoginsAreRateLimitedPerAddress) {
  SessionStore s(kCreds, Options());
  for (int i = 0; i < 3; ++i) EXPECT_EQ(Login(s, "bad").outcome, LoginResult::Outcome::kRefused);
  LoginResult limited = Login(s, "bad");
  EXPECT_EQ(limited.outcome, LoginResult::Outcome::kRateLimited);
  EXPECT_EQ(limited.retry_after_s, 10);
  // Limited even with the right secret: it is not checked.
  EXPECT_EQ(Login(s, kCreds.secret_access_key).outcome, LoginResult::Outcome::kRateLimited);
  // Another address is not affected.
  EXPECT_EQ(Login(s, kCreds.secret_access_key, "10.0.0.9").outcome, LoginResult::Outcome::kOk);
  now_ += 4 * kSec;
  EXPECT_EQ(Login(s, "bad").retry_after_s, 6);
  // One attempt back after the refill time.
  now_ += 6 * kSec;
  EXPECT_EQ(Login(s, kCreds.secret_access_key).outcome, LoginResult::Outcome::kOk);
  // A success refills the address: three more failures allowed.
  for (int i = 0; i < 3; ++i) EXPECT_EQ(Login(s, "bad").outcome, LoginResult::Outcome::kRefused);
  EXPECT_EQ(Login(s, "bad").outcome, LoginResult::Outcome::kRateLimited);
}

TEST_F(SessionStoreTest, GlobalLimitBoundsManyAddresses) {
  SessionOptions o = Options();
  o.global_login_burst = 4;
  o.global_login_refill_ns = 5 * kSec;
  SessionStore s(kCreds, o);
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(Login(s, "bad", "10.1.0." + std::to_string(i)).outcome,
              LoginResult::Outcome::kRefused);
  }
  LoginResult r = Login(s, "bad", "10.1.1.1");
  EXPECT_EQ(r.outcome, LoginResult::Outcome::kRateLimited);
  EXPECT_EQ(r.retry_after_s, 5);
  now_ += 5 * kSec;
  EXPECT_EQ(Login(s, kCreds.secret_access_key, "10.1.1.1").outcome, LoginResult::Outcome::kOk);
}

TEST_F(SessionStoreTest, TrackedAddressesAreBounded) {
  SessionOptions o = Options();
  o.max_tracked_addresses = 4;
  o.global_login_burst = 1000;
  SessionStore s(kCreds, o);
  // Many failing addresses: none is refused for want of room, and the limit still holds for
  // the newest one.
  for (int i = 0; i < 20; ++i) {
    EXPECT_EQ(Login(s, "bad", "10.2.0." + std::to_string(i)).outcome,
              LoginResult::Outcome::kRefused);
  }
  for (int i = 0; i < 2; ++i) EXPECT_EQ(Login(s, "bad", "10.2.0.19").outcome, LoginResult::Outcome::kRefused);
  EXPECT_EQ(Login(s, "bad", "10.2.0.19").outcome, LoginResult::Outcome::kRateLimited);
}

TEST_F(SessionStoreTest, AtMostMaxSessionsLeastRecentlyUsedGoesFirst) {
  SessionOptions o = Options();
  o.max_sessions = 3;
  SessionStore s(kCreds, o);
  std::vector<std::string> ids;
  for (int i = 0; i < 3; ++i) {
    ids.push_back(Login(s, kCreds.secret_access_key).session_id);
    now_ += kSec;
  }
  ASSERT_TRUE(s.Find(ids[0]).has_value());  // ids[1] is now the least recently used
  now_ += kSec;
  std::string fourth = Login(s, kCreds.secret_access_key).session_id;
  EXPECT_EQ(s.size(), 3u);
  EXPECT_TRUE(s.Find(ids[0]).has_value());
  EXPECT_FALSE(s.Find(ids[1]).has_value());
  EXPECT_TRUE(s.Find(ids[2]).has_value());
  EXPECT_TRUE(s.Find(fourth).has_value());
}

TEST_F(SessionStoreTest, IdsAreDistinct) {
  SessionStore s(kCreds, Options());
  std::set<std::string> seen;
  for (int i = 0; i < 50; ++i) {
    LoginResult r = Login(s, kCreds.secret_access_key);
    EXPECT_TRUE(seen.insert(r.session_id).second);
    EXPECT_TRUE(seen.insert(r.session.csrf_token).second);
    for (char c : r.session_id) EXPECT_TRUE(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_');
  }
}

}  // namespace
}  // namespace rwd::console
