// The access key rewindd issues, and the AWS shared-credentials file that hands it to the CLI and
// boto3:
//
//   [rewind]
//   aws_access_key_id = AKIA0123456789ABCDEF
//   aws_secret_access_key = <40 characters>
//
// Users point clients at it with AWS_SHARED_CREDENTIALS_FILE=DIR/credentials --profile rewind.
//
// Thread safety: functions are reentrant; concurrent writers of the same file race (last rename
// wins, the file is never torn).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "api/sigv4.h"
#include "common/status.h"

namespace rwd::api {

inline constexpr std::string_view kDefaultProfile = "rewind";

struct Credentials {
  std::string access_key_id;      // "AKIA" + 16 characters [A-Z0-9]
  std::string secret_access_key;  // 40 characters [A-Za-z0-9+/]
};

// A fresh key pair from the OpenSSL CSPRNG. Failure: Unavailable if RAND_bytes fails.
Result<Credentials> GenerateCredentials();

// `dir`/credentials.
std::string CredentialsPath(std::string_view dir);

// Writes `dir`/credentials holding one profile, `profile`, replacing any previous file
// atomically: the data goes to a new temporary file created with mode 0600 (O_CREAT|O_EXCL, never
// chmod-ed afterwards), is fsync-ed, then renamed over the target, and `dir` is fsync-ed.
// `dir` must exist. Failure: IOError/NoSpace naming the path.
Status WriteCredentialsFile(std::string_view dir, const Credentials& creds,
                            std::string_view profile = kDefaultProfile);

// Reads `profile` from a shared-credentials file (INI: [section], `key = value`, '#'/';'
// comments). Failure: NotFound if the file or the profile does not exist; InvalidArgument if the
// profile lacks aws_access_key_id or aws_secret_access_key; IOError on read errors.
Result<Credentials> LoadCredentialsFile(std::string_view path,
                                        std::string_view profile = kDefaultProfile);

// Loads `profile` from `dir`/credentials if that file exists (failing as LoadCredentialsFile does:
// an existing file is never overwritten), else generates a pair and writes it.
Result<Credentials> LoadOrCreateCredentials(std::string_view dir,
                                            std::string_view profile = kDefaultProfile);

// A SecretLookup (sigv4.h) that knows exactly `creds`.
SecretLookup SingleKeyLookup(Credentials creds);

}  // namespace rwd::api
