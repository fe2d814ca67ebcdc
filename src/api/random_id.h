// Random identifiers from the OpenSSL CSPRNG (RAND_bytes): request ids, access keys, secrets.
//
// Thread safety: all functions may be called concurrently (OpenSSL 3's RAND is thread-safe).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "common/status.h"

namespace rwd::api {

// `n` characters drawn uniformly (rejection sampling, no modulo bias) from `alphabet`
// (2..256 distinct bytes). Failure: Unavailable if the CSPRNG fails; InvalidArgument for a bad
// alphabet.
Result<std::string> RandomString(std::string_view alphabet, size_t n);

// A random (version 4) UUID, lower-case: "5f0c2f0e-8c1a-4e3b-9f6d-2a7b1c9d0e4f". Falls back to a
// time-and-counter based id (still unique within the process) if the CSPRNG fails.
std::string RandomUuid();

}  // namespace rwd::api
