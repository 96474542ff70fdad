#include "bench_http.h"

#include <utility>

#include <array>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>
#include <regex>
#include <stdexcept>

#include <arpa/inet.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

namespace exoflow::bench {

namespace {

constexpr std::size_t kPieceSize = 256UL * 1024;

[[noreturn]] void failWith(const std::string& what) {
  throw std::runtime_error(what + ": " + std::strerror(errno));
}

/// The value of the Content-Length header in `head` (case-insensitive); nullopt without one.
std::optional<std::size_t> contentLength(std::string_view head) {
  std::size_t pos = 0;
  while ((pos = head.find("\r\n", pos)) != std::string_view::npos) {
    pos += 2;
    constexpr std::string_view kName = "content-length:";
    if (head.size() - pos < kName.size()) break;
    bool match = true;
    for (std::size_t i = 0; i < kName.size() && match; ++i) {
      match = std::tolower(static_cast<unsigned char>(head[pos + i])) == kName[i];
    }
    if (match) return std::stoul(std::string(head.substr(pos + kName.size(), 24)));
  }
  return std::nullopt;
}

} // namespace

std::string getRequest(const std::string& path, const std::string& token) {
  std::string request = "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n";
  if (!token.empty()) request += "Authorization: Bearer " + token + "\r\n";
  return request + "\r\n";
}

HttpConnection::HttpConnection(int port) {
  fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0) failWith("socket");
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = htons(static_cast<std::uint16_t>(port));
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    ::close(fd_);
    failWith(fmt::format("connect to port {}", port));
  }
  const int one = 1;
  ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

HttpConnection::HttpConnection(HttpConnection&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)), buffer_(std::move(other.buffer_)),
      piece_(std::move(other.piece_)) {}

HttpConnection::~HttpConnection() {
  if (fd_ >= 0) ::close(fd_);
}

void HttpConnection::sendAll(std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) failWith("send");
    data.remove_prefix(static_cast<std::size_t>(n));
  }
}

void HttpConnection::readMore() {
  // Large reads, so that a big body costs few system calls; allocated on first use only, so
  // that a thousand idle connections stay small.
  if (piece_.empty()) piece_.resize(kPieceSize);
  const ssize_t n = ::recv(fd_, piece_.data(), piece_.size(), 0);
  if (n < 0 && errno == EINTR) return;
  if (n == 0) throw std::runtime_error("the server closed the connection");
  if (n < 0) failWith("recv");
  buffer_.append(piece_.data(), static_cast<std::size_t>(n));
}

int HttpConnection::roundTrip(const std::string& request, std::string_view body,
                              std::uint64_t* received) {
  sendAll(request);
  sendAll(body);
  std::size_t end = 0;
  while ((end = buffer_.find("\r\n\r\n")) == std::string::npos)
    readMore();
  const std::optional<std::size_t> length = contentLength(std::string_view(buffer_.data(), end));
  if (!length) throw std::runtime_error("a response without Content-Length");
  const int status = std::stoi(buffer_.substr(9, 3));
  buffer_.erase(0, end + 4);
  // The body: counted and dropped as it arrives.
  std::size_t left = *length;
  while (true) {
    const std::size_t take = std::min(left, buffer_.size());
    buffer_.erase(0, take);
    left -= take;
    if (left == 0) break;
    readMore();
  }
  if (received != nullptr) *received += *length;
  return status;
}

std::vector<std::vector<double>> interleavedLatencies(const std::vector<int>& ports,
                                                      const std::vector<std::string>& requests,
                                                      int count, int warmup) {
  std::vector<HttpConnection> connections;
  connections.reserve(ports.size());
  for (int port : ports)
    connections.emplace_back(port);
  std::vector<std::vector<double>> micros(ports.size());
  for (auto& m : micros)
    m.reserve(static_cast<std::size_t>(count));
  for (int i = 0; i < warmup + count; ++i) {
    for (std::size_t s = 0; s < connections.size(); ++s) {
      const auto start = std::chrono::steady_clock::now();
      const int status = connections[s].roundTrip(requests[s]);
      const auto end = std::chrono::steady_clock::now();
      if (status != 200) throw std::runtime_error(fmt::format("status {}", status));
      if (i >= warmup) {
        micros[s].push_back(std::chrono::duration<double, std::micro>(end - start).count());
      }
    }
  }
  return micros;
}

std::optional<WrkResult> runWrk(const std::string& wrk, const std::string& url, int connections,
                                int threads, int seconds, const std::string& header) {
  std::string command = fmt::format("'{}' -t{} -c{} -d{}s", wrk, threads, connections, seconds);
  if (!header.empty()) command += fmt::format(" -H '{}'", header);
  command += fmt::format(" '{}' 2>&1", url);
  struct Closer {
    void operator()(FILE* f) const { ::pclose(f); }
  };
  std::unique_ptr<FILE, Closer> pipe(::popen(command.c_str(), "r"));
  if (!pipe) return std::nullopt;
  std::string output;
  std::array<char, 4096> buffer{};
  while (std::fgets(buffer.data(), static_cast<int>(buffer.size()), pipe.get()) != nullptr)
    output += buffer.data();
  std::smatch m;
  WrkResult result;
  if (!std::regex_search(output, m, std::regex(R"((\d+) requests in ([0-9.]+)(m?s))"))) {
    std::fprintf(stderr, "wrk failed: %s\n", output.c_str());
    return std::nullopt;
  }
  result.requests = std::stoull(m[1].str());
  result.seconds = std::stod(m[2].str()) * (m[3].str() == "ms" ? 0.001 : 1.0);
  if (std::regex_search(output, m, std::regex(R"(Non-2xx or 3xx responses: (\d+))"))) {
    result.failures += std::stoull(m[1].str());
  }
  if (std::regex_search(
          output, m,
          std::regex(R"(Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+))"))) {
    for (int i = 1; i <= 4; ++i)
      result.failures += std::stoull(m[i].str());
  }
  return result;
}

} // namespace exoflow::bench
