#include "local/log_pump.h"

#include <array>
#include <cerrno>
#include <cstdio>

#include <fcntl.h>
#include <fmt/format.h>
#include <poll.h>
#include <unistd.h>

namespace exoflow::local {

LogPump::~LogPump() {
  for (auto& [name, stream] : streams_)
    ::close(stream.fd);
}

void LogPump::add(const Process& process) {
  if (process.outputFd() < 0) return;
  const int fd = ::fcntl(process.outputFd(), F_DUPFD_CLOEXEC, 0);
  if (fd >= 0) streams_[process.name()].fd = fd;
}

void LogPump::watch(const Process& process, std::function<bool(const std::string&)> fn) {
  auto it = streams_.find(process.name());
  if (it != streams_.end()) it->second.watchers.push_back(std::move(fn));
}

void LogPump::remove(const std::string& name) {
  auto it = streams_.find(name);
  if (it == streams_.end()) return;
  ::close(it->second.fd);
  streams_.erase(it);
}

void LogPump::say(const std::string& prefix, const std::string& line) const {
  std::fputs(fmt::format("{:<{}}| {}\n", prefix, width_, line).c_str(), stdout);
  std::fflush(stdout);
}

void LogPump::emit(const std::string& name, Stream& stream, const std::string& line) {
  auto& watchers = stream.watchers;
  for (std::size_t i = 0; i < watchers.size();) {
    if (watchers[i](line)) {
      watchers.erase(watchers.begin() + static_cast<std::ptrdiff_t>(i));
    } else {
      ++i;
    }
  }
  say(name, line);
}

bool LogPump::readFrom(const std::string& name) {
  Stream& stream = streams_.at(name);
  std::array<char, 8192> buffer{};
  const ssize_t n = ::read(stream.fd, buffer.data(), buffer.size());
  if (n < 0 && (errno == EINTR || errno == EAGAIN)) return true;
  if (n <= 0) {
    if (!stream.partial.empty()) emit(name, stream, stream.partial);
    remove(name);
    return false;
  }
  stream.partial.append(buffer.data(), static_cast<std::size_t>(n));
  std::size_t start = 0;
  for (std::size_t nl = stream.partial.find('\n'); nl != std::string::npos;
       nl = stream.partial.find('\n', start)) {
    std::string line = stream.partial.substr(start, nl - start);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    emit(name, stream, line);
    start = nl + 1;
  }
  stream.partial.erase(0, start);
  return true;
}

bool LogPump::pumpOnce(int timeout_ms, int extra_fd) {
  std::vector<pollfd> fds;
  std::vector<std::string> names;
  for (const auto& [name, stream] : streams_) {
    fds.push_back(pollfd{stream.fd, POLLIN, 0});
    names.push_back(name);
  }
  if (extra_fd >= 0) fds.push_back(pollfd{extra_fd, POLLIN, 0});
  if (fds.empty()) {
    ::usleep(static_cast<useconds_t>(timeout_ms) * 1000);
    return false;
  }
  const int ready = ::poll(fds.data(), fds.size(), timeout_ms);
  if (ready <= 0) return false;
  bool extra = false;
  for (std::size_t i = 0; i < fds.size(); ++i) {
    if (fds[i].revents == 0) continue;
    if (i == names.size()) {
      extra = true;
    } else if (streams_.count(names[i]) != 0) {
      readFrom(names[i]);
    }
  }
  return extra;
}

void LogPump::drain(const Process& process) {
  const std::string& name = process.name();
  while (streams_.count(name) != 0) {
    pollfd p{streams_.at(name).fd, POLLIN, 0};
    // A child that exited may have left a grandchild holding the pipe: do not wait for it.
    if (::poll(&p, 1, 200) <= 0) break;
    if (!readFrom(name)) return;
  }
  if (streams_.count(name) != 0) {
    Stream& s = streams_.at(name);
    if (!s.partial.empty()) emit(name, s, s.partial);
    remove(name);
  }
}

} // namespace exoflow::local
