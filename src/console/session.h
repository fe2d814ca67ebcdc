// Console sessions: login with the daemon's access key, server-side sessions, per-session CSRF
// tokens, and a limit on login attempts. No HTTP here (console.h puts it on the wire).
//
//   Login      checks the access key id and secret against the one key rewindd issues
//              (DATA_DIR/credentials), both compared in constant time, and on success makes a
//              session: a random id (the cookie's value, 256 bits from the OpenSSL CSPRNG) and a
//              random CSRF token. Only a SHA-256 of the id is kept, so neither a map lookup's
//              timing nor a memory dump gives a usable cookie.
//   Find       the session of a cookie's value, if it exists and has not expired; refreshes its
//              idle deadline. Expired sessions are dropped when met (and at every Login).
//   Logout     drops a session.
//
// Expiry: a session ends after idle_timeout_ns without a request or absolute_timeout_ns after
// login, whichever comes first. At most max_sessions live at once (the least recently used
// goes first).
//
// Login limit: each remote address may fail login_burst times in a row; after that one attempt
// per login_refill_ns (a token bucket). All addresses together share global_login_burst /
// global_login_refill_ns, so many addresses cannot guess faster. A limited attempt is answered
// without checking the secret. A success refills its address's bucket.
//
// Thread safety: every method may be called concurrently (one mutex).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "api/credentials.h"
#include "common/status.h"

namespace rwd::console {

struct SessionOptions {
  int64_t idle_timeout_ns = 30LL * 60 * 1'000'000'000;         // 30 minutes
  int64_t absolute_timeout_ns = 12LL * 3600 * 1'000'000'000;   // 12 hours
  size_t max_sessions = 64;
  int login_burst = 5;
  int64_t login_refill_ns = 12LL * 1'000'000'000;  // one more attempt every 12 s per address
  int global_login_burst = 30;
  int64_t global_login_refill_ns = 2LL * 1'000'000'000;
  size_t max_tracked_addresses = 4096;  // past it, full buckets are forgotten first
  std::function<int64_t()> clock;       // ns since the epoch; default: the system clock
};

// What a live session carries (a copy; the store keeps its own).
struct Session {
  std::string csrf_token;      // sent back in X-CSRF-Token on every state-changing request
  std::string access_key_id;   // who logged in
  int64_t created_ns = 0;
  int64_t expires_ns = 0;      // the earlier of the idle and the absolute deadline, as of now
};

struct LoginResult {
  enum class Outcome { kOk, kRefused, kRateLimited };
  Outcome outcome = Outcome::kRefused;
  std::string session_id;  // kOk: the cookie's value (never stored by the SessionStore)
  Session session;         // kOk
  int64_t retry_after_s = 0;  // kRateLimited: seconds until the next attempt is allowed
};

class SessionStore {
 public:
  SessionStore(api::Credentials credentials, SessionOptions options = {});

  // Failure (Status): Unavailable if the CSPRNG fails. A wrong key is not a failure: it is
  // LoginResult::kRefused (and kRateLimited once the limit is reached).
  Result<LoginResult> Login(std::string_view remote_addr, std::string_view access_key_id,
                            std::string_view secret);
  // nullopt if `session_id` names no live session.
  std::optional<Session> Find(std::string_view session_id);
  // True iff `token` is the session's CSRF token (constant time).
  static bool CsrfMatches(const Session& session, std::string_view token);
  // Drops the session (no-op if unknown). True if one was dropped.
  bool Logout(std::string_view session_id);
  size_t size();

 private:
  struct Entry {
    Session session;
    int64_t last_seen_ns = 0;
  };
  struct Bucket {
    double tokens = 0;
    int64_t updated_ns = 0;
  };
  int64_t Now() const;
  bool Live(const Entry& e, int64_t now) const;
  Session Snapshot(const Entry& e) const;
  void DropExpired(int64_t now);
  // Refills `b` up to `burst` at one token per `refill_ns`.
  static void Refill(Bucket* b, int burst, int64_t refill_ns, int64_t now);
  Bucket* AddressBucket(const std::string& addr, int64_t now);

  const api::Credentials credentials_;
  const SessionOptions options_;
  std::mutex mu_;
  std::map<std::string, Entry> sessions_;  // key: SHA-256 (hex) of the session id
  std::map<std::string, Bucket> buckets_;  // key: remote address
  Bucket global_;
};

}  // namespace rwd::console
