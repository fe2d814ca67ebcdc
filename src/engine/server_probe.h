// Readiness probe for a MariaDB server: connects and reads the server's initial handshake
// packet, which the server sends only once its accept loop serves the connection. A bare
// connect() is not enough: the kernel completes it as soon as the socket listens.
// Thread-safe; opens and closes its own socket; never writes to the server.
#pragma once

#include <chrono>
#include <string>

#include "common/status.h"

namespace rwd::engine {

// Success: the server version from the greeting (e.g. "10.11.19-MariaDB-0+deb12u1").
// Failure: Unavailable (nothing listening, connection closed, timeout) or Corruption (the peer
// sent something that is not a MySQL protocol-10 greeting, e.g. another program on the port,
// or an error packet such as "Too many connections", whose text is included).
Result<std::string> ProbeUnixSocket(const std::string& socket_path,
                                    std::chrono::milliseconds timeout);
// `host` is a numeric IPv4 or IPv6 address.
Result<std::string> ProbeTcp(const std::string& host, int port, std::chrono::milliseconds timeout);

}  // namespace rwd::engine
