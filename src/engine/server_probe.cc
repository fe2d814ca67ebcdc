#include "engine/server_probe.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace rwd::engine {
namespace {

using Clock = std::chrono::steady_clock;

class SocketCloser {
 public:
  explicit SocketCloser(int fd) : fd_(fd) {}
  ~SocketCloser() { ::close(fd_); }
  SocketCloser(const SocketCloser&) = delete;
  SocketCloser& operator=(const SocketCloser&) = delete;

 private:
  int fd_;
};

int MillisLeft(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  return left.count() > 0 ? static_cast<int>(left.count()) : 0;
}

// Waits for `events` on fd until the deadline.
Status WaitFor(int fd, short events, Clock::time_point deadline, const std::string& peer) {
  while (true) {
    pollfd pfd{fd, events, 0};
    int ready = ::poll(&pfd, 1, MillisLeft(deadline));
    if (ready > 0) return Status::Ok();
    if (ready == 0) return Status::Unavailable("timed out waiting for " + peer);
    if (errno != EINTR) return Status::FromErrno(errno, "poll on " + peer);
  }
}

// Connects a non-blocking socket and reads the greeting packet.
Result<std::string> ReadGreeting(int domain, const sockaddr* address, socklen_t address_length,
                                 const std::string& peer, std::chrono::milliseconds timeout) {
  const Clock::time_point deadline = Clock::now() + timeout;
  int fd = ::socket(domain, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return Status::FromErrno(errno, "socket for " + peer);
  SocketCloser closer(fd);
  if (::connect(fd, address, address_length) != 0) {
    if (errno != EINPROGRESS && errno != EAGAIN) {
      return Status::Unavailable("connect to " + peer + ": " + std::strerror(errno));
    }
    RETURN_IF_ERROR(WaitFor(fd, POLLOUT, deadline, peer));
    int error = 0;
    socklen_t length = sizeof(error);
    ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length);
    if (error != 0) return Status::Unavailable("connect to " + peer + ": " + std::strerror(error));
  }
  // Packet: 3-byte little-endian payload length, 1-byte sequence id, payload.
  std::string packet;
  size_t wanted = 4;
  char buffer[512];
  while (packet.size() < wanted) {
    RETURN_IF_ERROR(WaitFor(fd, POLLIN, deadline, peer));
    ssize_t n = ::recv(fd, buffer, sizeof(buffer), 0);
    if (n == 0) return Status::Unavailable(peer + " closed the connection before its greeting");
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      return Status::Unavailable("reading from " + peer + ": " + std::strerror(errno));
    }
    packet.append(buffer, static_cast<size_t>(n));
    if (wanted == 4 && packet.size() >= 4) {
      size_t payload = static_cast<unsigned char>(packet[0]) |
                       (static_cast<unsigned char>(packet[1]) << 8) |
                       (static_cast<unsigned char>(packet[2]) << 16);
      if (payload == 0 || payload > 4096) {
        return Status::Corruption(peer + " sent no MySQL greeting");
      }
      wanted = 4 + payload;
    }
  }
  std::string_view payload = std::string_view(packet).substr(4, wanted - 4);
  if (payload[0] == '\xff') {
    // Error packet: 0xff, 2-byte code, then (protocol 4.1) '#' + 5-byte SQL state, message.
    std::string_view message = payload.size() > 3 ? payload.substr(3) : std::string_view();
    if (!message.empty() && message[0] == '#')
      message.remove_prefix(std::min<size_t>(6, message.size()));
    return Status::Corruption(peer + " refused with: " + std::string(message));
  }
  if (payload[0] != '\x0a') return Status::Corruption(peer + " sent no MySQL protocol-10 greeting");
  std::string_view version = payload.substr(1);
  size_t end = version.find('\0');
  if (end == std::string_view::npos) return Status::Corruption(peer + " sent a truncated greeting");
  return std::string(version.substr(0, end));
}

}  // namespace

Result<std::string> ProbeUnixSocket(const std::string& socket_path,
                                    std::chrono::milliseconds timeout) {
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (socket_path.size() >= sizeof(address.sun_path)) {
    return Status::InvalidArgument("socket path too long: " + socket_path);
  }
  std::memcpy(address.sun_path, socket_path.c_str(), socket_path.size() + 1);
  return ReadGreeting(AF_UNIX, reinterpret_cast<const sockaddr*>(&address), sizeof(address),
                      "socket " + socket_path, timeout);
}

Result<std::string> ProbeTcp(const std::string& host, int port, std::chrono::milliseconds timeout) {
  const std::string peer = host + " port " + std::to_string(port);
  sockaddr_in v4{};
  if (::inet_pton(AF_INET, host.c_str(), &v4.sin_addr) == 1) {
    v4.sin_family = AF_INET;
    v4.sin_port = htons(static_cast<uint16_t>(port));
    return ReadGreeting(AF_INET, reinterpret_cast<const sockaddr*>(&v4), sizeof(v4), peer, timeout);
  }
  sockaddr_in6 v6{};
  if (::inet_pton(AF_INET6, host.c_str(), &v6.sin6_addr) == 1) {
    v6.sin6_family = AF_INET6;
    v6.sin6_port = htons(static_cast<uint16_t>(port));
    return ReadGreeting(AF_INET6, reinterpret_cast<const sockaddr*>(&v6), sizeof(v6), peer,
                        timeout);
  }
  return Status::InvalidArgument("not a numeric IP address: " + host);
}

}  // namespace rwd::engine
