#include "support/fake_server.h"

#include <cctype>
#include <cstring>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

namespace exoflow::testsupport {
namespace {

std::size_t contentLength(const std::string& head) {
  std::string lower = head;
  for (char& c : lower)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  const auto at = lower.find("\r\ncontent-length:");
  if (at == std::string::npos) return 0;
  return std::stoul(head.substr(at + std::strlen("\r\ncontent-length:")));
}

} // namespace

std::optional<FakeRequest> FakeConnection::readHead() {
  char buffer[4096];
  std::size_t end = std::string::npos;
  while ((end = pending_.find("\r\n\r\n")) == std::string::npos) {
    const ssize_t n = ::recv(fd_, buffer, sizeof buffer, 0);
    if (n <= 0) return std::nullopt;
    pending_.append(buffer, static_cast<std::size_t>(n));
  }
  FakeRequest request;
  request.head = pending_.substr(0, end + 4);
  pending_.erase(0, end + 4);
  const auto space = request.head.find(' ');
  const auto space2 = request.head.find(' ', space + 1);
  request.method = request.head.substr(0, space);
  request.target = request.head.substr(space + 1, space2 - space - 1);
  return request;
}

std::optional<std::string> FakeConnection::readBody(std::size_t size) {
  char buffer[65536];
  while (pending_.size() < size) {
    const ssize_t n = ::recv(fd_, buffer, sizeof buffer, 0);
    if (n <= 0) return std::nullopt;
    pending_.append(buffer, static_cast<std::size_t>(n));
  }
  std::string body = pending_.substr(0, size);
  pending_.erase(0, size);
  return body;
}

std::optional<FakeRequest> FakeConnection::readRequest() {
  std::optional<FakeRequest> request = readHead();
  if (!request) return std::nullopt;
  std::optional<std::string> body = readBody(contentLength(request->head));
  if (!body) return std::nullopt;
  request->body = std::move(*body);
  return request;
}

bool FakeConnection::write(const std::string& bytes) {
  std::size_t sent = 0;
  while (sent < bytes.size()) {
    const ssize_t n = ::send(fd_, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) return false;
    sent += static_cast<std::size_t>(n);
  }
  return true;
}

bool FakeConnection::respondJson(const std::string& json, int status) {
  return write("HTTP/1.1 " + std::to_string(status) +
               " OK\r\nContent-Type: application/json\r\nx-exo-request-id: fake\r\n"
               "Content-Length: " +
               std::to_string(json.size()) + "\r\n\r\n" + json);
}

void FakeConnection::close() {
  ::shutdown(fd_, SHUT_RDWR);
}

FakeServer::FakeServer(Handler handler) : handler_(std::move(handler)) {
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&address), sizeof address);
  ::listen(listen_fd_, 64);
  socklen_t size = sizeof address;
  ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&address), &size);
  port_ = ntohs(address.sin_port);
  acceptor_ = std::thread([this] { acceptLoop(); });
}

FakeServer::~FakeServer() {
  stopping_ = true;
  ::shutdown(listen_fd_, SHUT_RDWR);
  acceptor_.join();
  ::close(listen_fd_);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    for (int fd : open_fds_)
      ::shutdown(fd, SHUT_RDWR);
  }
  for (std::thread& thread : threads_)
    thread.join();
}

std::string FakeServer::endpoint() const {
  return "http://127.0.0.1:" + std::to_string(port_);
}

void FakeServer::acceptLoop() {
  while (!stopping_) {
    const int fd = ::accept(listen_fd_, nullptr, nullptr);
    if (fd < 0) return;
    const int index = accepted_++;
    std::lock_guard<std::mutex> lock(mutex_);
    open_fds_.push_back(fd);
    threads_.emplace_back([this, fd, index] {
      FakeConnection connection(fd);
      handler_(connection, index);
      {
        std::lock_guard<std::mutex> inner(mutex_);
        std::erase(open_fds_, fd);
      }
      ::close(fd);
      ++finished_;
    });
  }
}

int unusedPort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address);
  socklen_t size = sizeof address;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &size);
  ::close(fd);
  return ntohs(address.sin_port);
}

std::string healthyResponse() {
  return R"({"status":"ok"})";
}

} // namespace exoflow::testsupport
