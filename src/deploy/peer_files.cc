#include "deploy/peer_files.h"

#include <array>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

namespace exoflow::deploy {

namespace {

namespace fs = std::filesystem;

constexpr std::size_t kTokenBytes = 32;

tl::expected<std::string, std::string> slurp(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return tl::unexpected("cannot read " + path.string());
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

/// Creates `path` with mode 0600 (O_EXCL: never through an existing file or link) and writes
/// `content`.
tl::expected<void, std::string> writePrivate(const fs::path& path, const std::string& content) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0)
    return tl::unexpected(fmt::format("cannot create {}: {}", path.string(), std::strerror(errno)));
  std::size_t done = 0;
  while (done < content.size()) {
    const ssize_t n = ::write(fd, content.data() + done, content.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const std::string reason = std::strerror(errno);
      ::close(fd);
      return tl::unexpected(fmt::format("cannot write {}: {}", path.string(), reason));
    }
    done += static_cast<std::size_t>(n);
  }
  if (::close(fd) != 0)
    return tl::unexpected(fmt::format("cannot write {}: {}", path.string(), std::strerror(errno)));
  return {};
}

std::string trimLine(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' '))
    s.pop_back();
  return s;
}

} // namespace

tl::expected<std::string, std::string> makePeerToken() {
  std::ifstream random("/dev/urandom", std::ios::binary);
  std::array<unsigned char, kTokenBytes> bytes{};
  if (!random.read(reinterpret_cast<char*>(bytes.data()), bytes.size()))
    return tl::unexpected(std::string("cannot read /dev/urandom for a peer token"));
  std::string token;
  for (const unsigned char b : bytes)
    token += fmt::format("{:02x}", b);
  return token;
}

tl::expected<bool, std::string> ensurePeerToken(const fs::path& dir, bool replace) {
  const fs::path path = dir / kPeerTokenFile;
  std::error_code ec;
  if (fs::exists(path, ec) && !replace) return false;
  auto token = makePeerToken();
  if (!token) return tl::unexpected(token.error());
  fs::remove(path, ec);
  auto written = writePrivate(path, *token + "\n");
  if (!written) return tl::unexpected(written.error());
  return true;
}

tl::expected<PeerFiles, std::string> readPeerFiles(const fs::path& dir, const std::string& peer,
                                                   bool token_optional) {
  PeerFiles files;
  const std::pair<std::string, std::string*> pems[] = {
      {"ca.crt", &files.ca_cert}, {peer + ".crt", &files.cert}, {peer + ".key", &files.key}};
  for (const auto& [name, into] : pems) {
    const fs::path path = dir / name;
    std::error_code ec;
    if (!fs::is_regular_file(path, ec) && name != "ca.crt" && fs::is_regular_file(dir / "ca.crt")) {
      // A target added since: its certificate joins the existing CA.
      return tl::unexpected(fmt::format("{} is missing: run `exoflow certs -o {} --targets {}` to "
                                        "add the target's certificate to the CA there",
                                        path.string(), dir.string(), peer));
    }
    if (!fs::is_regular_file(path, ec)) {
      return tl::unexpected(fmt::format(
          "{} is missing: the app's targets reach each other over mutual TLS with the files of "
          "`exoflow certs`; run `exoflow certs --file <manifest> -o {}` first (or give --certs)",
          path.string(), dir.string()));
    }
    auto text = slurp(path);
    if (!text) return tl::unexpected(text.error());
    if (text->find("-----BEGIN ") == std::string::npos)
      return tl::unexpected(path.string() + " is not a PEM file");
    *into = *std::move(text);
  }
  const fs::path token_path = dir / kPeerTokenFile;
  std::error_code ec;
  if (!fs::exists(token_path, ec)) {
    if (token_optional) return files;
    return tl::unexpected(
        fmt::format("{} is missing; `exoflow certs` writes it", token_path.string()));
  }
  auto token = slurp(token_path);
  if (!token) return tl::unexpected(token.error());
  files.token = trimLine(*std::move(token));
  if (files.token.size() < kTokenBytes)
    return tl::unexpected(token_path.string() + " holds fewer than 32 characters");
  return files;
}

tl::expected<PeerFiles, std::string>
loadPeerFiles(const fs::path& dir, const std::string& peer, bool dry_run,
              const std::function<void(const std::string&)>& print, bool& noted) {
  auto files = readPeerFiles(dir, peer, true);
  if (!files || !files->token.empty()) return files;
  const fs::path token = dir / kPeerTokenFile;
  if (dry_run) {
    if (!noted) {
      print("note: " + token.string() +
            " is missing; deploy writes a new one (0600), shared by every target of the app");
    }
    noted = true;
    return files;
  }
  auto written = ensurePeerToken(dir, false);
  if (!written) return tl::unexpected(written.error());
  print("wrote " + token.string() + " (the app's peer token, shared by every target)");
  return readPeerFiles(dir, peer, false);
}

std::string base64(std::string_view data) {
  static constexpr std::string_view kAlphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((data.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 2 < data.size(); i += 3) {
    const auto n = (static_cast<unsigned char>(data[i]) << 16U) |
                   (static_cast<unsigned char>(data[i + 1]) << 8U) |
                   static_cast<unsigned char>(data[i + 2]);
    out += kAlphabet[(n >> 18U) & 63U];
    out += kAlphabet[(n >> 12U) & 63U];
    out += kAlphabet[(n >> 6U) & 63U];
    out += kAlphabet[n & 63U];
  }
  if (i + 1 == data.size()) {
    const auto n = static_cast<unsigned char>(data[i]) << 16U;
    out += kAlphabet[(n >> 18U) & 63U];
    out += kAlphabet[(n >> 12U) & 63U];
    out += "==";
  } else if (i + 2 == data.size()) {
    const auto n = (static_cast<unsigned char>(data[i]) << 16U) |
                   (static_cast<unsigned char>(data[i + 1]) << 8U);
    out += kAlphabet[(n >> 18U) & 63U];
    out += kAlphabet[(n >> 12U) & 63U];
    out += kAlphabet[(n >> 6U) & 63U];
    out += '=';
  }
  return out;
}

tl::expected<PrivateFile, std::string> PrivateFile::write(const std::string& name,
                                                          const std::string& content) {
  std::string dir = (fs::temp_directory_path() / "exoflow-XXXXXX").string();
  if (::mkdtemp(dir.data()) == nullptr) // mode 0700
    return tl::unexpected(fmt::format("cannot create a folder in {}: {}",
                                      fs::temp_directory_path().string(), std::strerror(errno)));
  PrivateFile file;
  file.dir_ = dir;
  file.path_ = file.dir_ / name;
  auto written = writePrivate(file.path_, content);
  if (!written) return tl::unexpected(written.error()); // the destructor removes the folder
  return file;
}

PrivateFile::PrivateFile(PrivateFile&& other) noexcept
    : dir_(std::move(other.dir_)), path_(std::move(other.path_)) {
  other.dir_.clear();
  other.path_.clear();
}

PrivateFile::~PrivateFile() {
  if (dir_.empty()) return;
  std::error_code ec;
  fs::remove_all(dir_, ec);
}

} // namespace exoflow::deploy
