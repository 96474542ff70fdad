#include "local/secrets.h"

#include <array>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/random.h>
#include <unistd.h>

namespace exoflow::local {

Result<std::string> randomToken() {
  std::array<unsigned char, 32> bytes{};
  std::size_t got = 0;
  while (got < bytes.size()) {
    const ssize_t n = ::getrandom(bytes.data() + got, bytes.size() - got, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0)
      return fail(ErrorCode::kInternal, fmt::format("getrandom: {}", std::strerror(errno)));
    got += static_cast<std::size_t>(n);
  }
  std::string hex;
  for (unsigned char b : bytes)
    hex += fmt::format("{:02x}", b);
  return hex;
}

Result<std::string> loadOrCreateSecret(const std::filesystem::path& path) {
  {
    std::ifstream in(path);
    std::string value;
    if (in && std::getline(in, value) && !value.empty()) return value;
  }
  auto token = randomToken();
  if (!token) return token;
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) {
    return fail(ErrorCode::kInternal,
                fmt::format("cannot write {}: {}", path.string(), std::strerror(errno)));
  }
  const std::string line = *token + "\n";
  const bool ok = ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size());
  ::fsync(fd);
  ::close(fd);
  if (!ok) return fail(ErrorCode::kInternal, fmt::format("cannot write {}", path.string()));
  return token;
}

} // namespace exoflow::local
