#include "console/session.h"

#include <algorithm>
#include <iterator>
#include <utility>

#include "api/random_id.h"
#include "api/sigv4.h"
#include "api/timeparse.h"

namespace rwd::console {

namespace {

// URL- and cookie-safe; 43 characters of 64 carry 258 bits.
constexpr std::string_view kTokenAlphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
constexpr size_t kTokenChars = 43;
// Longer inputs are refused unread: the real ones are 20 and 40 characters.
constexpr size_t kMaxCredentialInput = 256;

std::string IdKey(std::string_view session_id) { return api::Sha256Hex(session_id); }

}  // namespace

SessionStore::SessionStore(api::Credentials credentials, SessionOptions options)
    : credentials_(std::move(credentials)), options_(std::move(options)) {
  global_.tokens = options_.global_login_burst;
  global_.updated_ns = Now();
}

int64_t SessionStore::Now() const { return options_.clock ? options_.clock() : api::NowNs(); }

bool SessionStore::Live(const Entry& e, int64_t now) const {
  return now < e.last_seen_ns + options_.idle_timeout_ns &&
         now < e.session.created_ns + options_.absolute_timeout_ns;
}

Session SessionStore::Snapshot(const Entry& e) const {
  Session s = e.session;
  s.expires_ns = std::min(e.last_seen_ns + options_.idle_timeout_ns,
                          e.session.created_ns + options_.absolute_timeout_ns);
  return s;
}

void SessionStore::DropExpired(int64_t now) {
  std::erase_if(sessions_, [&](const auto& kv) { return !Live(kv.second, now); });
}

void SessionStore::Refill(Bucket* b, int burst, int64_t refill_ns, int64_t now) {
  if (now > b->updated_ns && refill_ns > 0) {
    b->tokens = std::min<double>(
        burst, b->tokens + static_cast<double>(now - b->updated_ns) / static_cast<double>(refill_ns));
  }
  b->updated_ns = std::max(b->updated_ns, now);
}

SessionStore::Bucket* SessionStore::AddressBucket(const std::string& addr, int64_t now) {
  auto it = buckets_.find(addr);
  if (it == buckets_.end()) {
    if (buckets_.size() >= options_.max_tracked_addresses) {
      // Forget addresses whose bucket has refilled: they hold no state worth keeping.
      for (auto b = buckets_.begin(); b != buckets_.end();) {
        Refill(&b->second, options_.login_burst, options_.login_refill_ns, now);
        b = b->second.tokens >= options_.login_burst ? buckets_.erase(b) : std::next(b);
      }
      // Still full: every tracked address is failing. Drop the oldest one rather than refuse
      // a new address outright (the global bucket still bounds the total rate).
      if (buckets_.size() >= options_.max_tracked_addresses) {
        auto oldest = std::min_element(buckets_.begin(), buckets_.end(), [](auto& a, auto& b) {
          return a.second.updated_ns < b.second.updated_ns;
        });
        buckets_.erase(oldest);
      }
    }
    it = buckets_.emplace(addr, Bucket{static_cast<double>(options_.login_burst), now}).first;
  }
  Refill(&it->second, options_.login_burst, options_.login_refill_ns, now);
  return &it->second;
}

Result<LoginResult> SessionStore::Login(std::string_view remote_addr,
                                        std::string_view access_key_id, std::string_view secret) {
  std::lock_guard<std::mutex> lock(mu_);
  const int64_t now = Now();
  DropExpired(now);
  LoginResult out;
  Bucket* addr = AddressBucket(std::string(remote_addr), now);
  Refill(&global_, options_.global_login_burst, options_.global_login_refill_ns, now);
  if (addr->tokens < 1 || global_.tokens < 1) {
    auto wait_ns = [now](const Bucket& b, int64_t refill_ns) -> int64_t {
      if (b.tokens >= 1) return 0;
      return static_cast<int64_t>((1 - b.tokens) * static_cast<double>(refill_ns)) -
             (now - b.updated_ns);
    };
    int64_t wait = std::max(wait_ns(*addr, options_.login_refill_ns),
                            wait_ns(global_, options_.global_login_refill_ns));
    out.outcome = LoginResult::Outcome::kRateLimited;
    out.retry_after_s = std::max<int64_t>(1, (wait + api::kNanosPerSecond - 1) / api::kNanosPerSecond);
    return out;
  }
  // Both compared in full, whatever the first gives, so the time says nothing about which one
  // was wrong.
  bool ok = access_key_id.size() <= kMaxCredentialInput && secret.size() <= kMaxCredentialInput;
  const bool id_ok = api::ConstantTimeEquals(access_key_id, credentials_.access_key_id);
  const bool secret_ok = api::ConstantTimeEquals(secret, credentials_.secret_access_key);
  ok = ok && id_ok && secret_ok;
  if (!ok) {
    addr->tokens -= 1;
    global_.tokens -= 1;
    out.outcome = LoginResult::Outcome::kRefused;
    return out;
  }
  addr->tokens = options_.login_burst;

  ASSIGN_OR_RETURN(std::string id, api::RandomString(kTokenAlphabet, kTokenChars));
  ASSIGN_OR_RETURN(std::string csrf, api::RandomString(kTokenAlphabet, kTokenChars));
  while (sessions_.size() >= options_.max_sessions && !sessions_.empty()) {
    auto lru = std::min_element(sessions_.begin(), sessions_.end(), [](auto& a, auto& b) {
      return a.second.last_seen_ns < b.second.last_seen_ns;
    });
    sessions_.erase(lru);
  }
  Entry e;
  e.session.csrf_token = std::move(csrf);
  e.session.access_key_id = std::string(access_key_id);
  e.session.created_ns = now;
  e.last_seen_ns = now;
  out.outcome = LoginResult::Outcome::kOk;
  out.session = Snapshot(e);
  sessions_[IdKey(id)] = std::move(e);
  out.session_id = std::move(id);
  return out;
}

std::optional<Session> SessionStore::Find(std::string_view session_id) {
  if (session_id.empty() || session_id.size() > kMaxCredentialInput) return std::nullopt;
  std::lock_guard<std::mutex> lock(mu_);
  const int64_t now = Now();
  auto it = sessions_.find(IdKey(session_id));
  if (it == sessions_.end()) return std::nullopt;
  if (!Live(it->second, now)) {
    sessions_.erase(it);
    return std::nullopt;
  }
  it->second.last_seen_ns = std::max(it->second.last_seen_ns, now);
  return Snapshot(it->second);
}

bool SessionStore::CsrfMatches(const Session& session, std::string_view token) {
  return !token.empty() && !session.csrf_token.empty() &&
         api::ConstantTimeEquals(token, session.csrf_token);
}

bool SessionStore::Logout(std::string_view session_id) {
  if (session_id.empty() || session_id.size() > kMaxCredentialInput) return false;
  std::lock_guard<std::mutex> lock(mu_);
  return sessions_.erase(IdKey(session_id)) > 0;
}

size_t SessionStore::size() {
  std::lock_guard<std::mutex> lock(mu_);
  DropExpired(Now());
  return sessions_.size();
}

}  // namespace rwd::console
