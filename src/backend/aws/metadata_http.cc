#include "backend/aws/metadata_http.h"

#include <cerrno>
#include <cstring>

#include <fmt/format.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace exoflow::aws {
namespace {

using Clock = std::chrono::steady_clock;

/// Closes a socket on every path out.
class Socket {
public:
  explicit Socket(int fd) : fd_(fd) {}
  ~Socket() {
    if (fd_ >= 0) ::close(fd_);
  }
  Socket(const Socket&) = delete;
  Socket& operator=(const Socket&) = delete;
  int fd() const { return fd_; }

private:
  int fd_;
};

int remainingMs(Clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  return left.count() > 0 ? static_cast<int>(left.count()) : 0;
}

bool waitFor(int fd, short events, Clock::time_point deadline) {
  pollfd p{fd, events, 0};
  while (true) {
    const int ready = ::poll(&p, 1, remainingMs(deadline));
    if (ready > 0) return true;
    if (ready == 0 || errno != EINTR) return false;
  }
}

} // namespace

Result<HttpUrl> parseHttpUrl(std::string_view url) {
  constexpr std::string_view kScheme = "http://";
  if (!url.starts_with(kScheme)) {
    return fail(ErrorCode::kInvalidArgument,
                fmt::format("'{}' is not an http:// URL (metadata endpoints are plain HTTP)", url));
  }
  url.remove_prefix(kScheme.size());
  const std::size_t slash = url.find('/');
  const std::string_view authority = url.substr(0, slash);
  HttpUrl out;
  out.target = slash == std::string_view::npos ? "/" : std::string(url.substr(slash));
  if (authority.empty() || authority.find('@') != std::string_view::npos) {
    return fail(ErrorCode::kInvalidArgument, fmt::format("bad host in 'http://{}'", url));
  }
  std::string_view host = authority;
  std::string_view port;
  if (authority.front() == '[') {
    const std::size_t close = authority.find(']');
    if (close == std::string_view::npos) {
      return fail(ErrorCode::kInvalidArgument, fmt::format("bad host in 'http://{}'", url));
    }
    host = authority.substr(1, close - 1);
    if (close + 1 < authority.size() && authority[close + 1] == ':') {
      port = authority.substr(close + 2);
    }
  } else if (const std::size_t colon = authority.rfind(':'); colon != std::string_view::npos) {
    host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
  }
  out.host = std::string(host);
  if (!port.empty()) {
    int value = 0;
    for (const char c : port) {
      if (c < '0' || c > '9' || value > 65535) {
        return fail(ErrorCode::kInvalidArgument, fmt::format("bad port in 'http://{}'", url));
      }
      value = value * 10 + (c - '0');
    }
    if (value < 1 || value > 65535) {
      return fail(ErrorCode::kInvalidArgument, fmt::format("bad port in 'http://{}'", url));
    }
    out.port = value;
  }
  return out;
}

Result<MetadataResponse>
metadataRequest(const HttpUrl& url, std::string_view method,
                const std::vector<std::pair<std::string, std::string>>& headers,
                std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  const std::string where = fmt::format("{}:{}", url.host, url.port);
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  addrinfo* found = nullptr;
  if (::getaddrinfo(url.host.c_str(), std::to_string(url.port).c_str(), &hints, &found) != 0 ||
      found == nullptr) {
    return fail(ErrorCode::kUnavailable, fmt::format("cannot resolve {}", url.host));
  }
  Socket socket(::socket(found->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  const int connected =
      socket.fd() < 0 ? -1 : ::connect(socket.fd(), found->ai_addr, found->ai_addrlen);
  const int connect_errno = errno;
  ::freeaddrinfo(found);
  if (socket.fd() < 0) return fail(ErrorCode::kUnavailable, "cannot create a socket");
  if (connected != 0) {
    if (connect_errno != EINPROGRESS || !waitFor(socket.fd(), POLLOUT, deadline)) {
      return fail(
          ErrorCode::kUnavailable,
          fmt::format("cannot connect to {}: {}", where,
                      connect_errno == EINPROGRESS ? "timed out" : std::strerror(connect_errno)));
    }
    int error = 0;
    socklen_t size = sizeof error;
    ::getsockopt(socket.fd(), SOL_SOCKET, SO_ERROR, &error, &size);
    if (error != 0) {
      return fail(ErrorCode::kUnavailable,
                  fmt::format("cannot connect to {}: {}", where, std::strerror(error)));
    }
  }

  std::string request =
      fmt::format("{} {} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n", method, url.target, where);
  for (const auto& [name, value] : headers)
    request += fmt::format("{}: {}\r\n", name, value);
  request += method == "PUT" || method == "POST" ? "Content-Length: 0\r\n\r\n" : "\r\n";
  for (std::size_t sent = 0; sent < request.size();) {
    if (!waitFor(socket.fd(), POLLOUT, deadline)) {
      return fail(ErrorCode::kUnavailable, fmt::format("{} timed out", where));
    }
    const ssize_t n =
        ::send(socket.fd(), request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno != EAGAIN && errno != EINTR) {
      return fail(ErrorCode::kUnavailable,
                  fmt::format("sending to {}: {}", where, std::strerror(errno)));
    }
    if (n > 0) sent += static_cast<std::size_t>(n);
  }

  // Connection: close, so the response ends where the stream does (or at Content-Length).
  std::string response;
  constexpr std::size_t kMaxResponse = 1 << 20;
  while (response.size() < kMaxResponse) {
    if (!waitFor(socket.fd(), POLLIN, deadline)) {
      return fail(ErrorCode::kUnavailable, fmt::format("{} did not answer in time", where));
    }
    char buffer[4096];
    const ssize_t n = ::recv(socket.fd(), buffer, sizeof buffer, 0);
    if (n == 0) break;
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR) continue;
      return fail(ErrorCode::kUnavailable,
                  fmt::format("reading from {}: {}", where, std::strerror(errno)));
    }
    response.append(buffer, static_cast<std::size_t>(n));
    const std::size_t head_end = response.find("\r\n\r\n");
    if (head_end == std::string::npos) continue;
    std::string head = response.substr(0, head_end);
    for (char& c : head)
      c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    const std::size_t length_at = head.find("\r\ncontent-length:");
    if (length_at != std::string::npos) {
      const std::size_t length = std::strtoull(head.c_str() + length_at + 17, nullptr, 10);
      if (response.size() >= head_end + 4 + length) {
        response.resize(head_end + 4 + length);
        break;
      }
    }
  }
  const std::size_t head_end = response.find("\r\n\r\n");
  if (!response.starts_with("HTTP/1.") || response.size() < 12 || head_end == std::string::npos) {
    return fail(ErrorCode::kUnavailable, fmt::format("{} sent a malformed response", where));
  }
  MetadataResponse out;
  out.status = std::atoi(response.c_str() + 9);
  out.body = response.substr(head_end + 4);
  return out;
}

} // namespace exoflow::aws
