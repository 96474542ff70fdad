#include "support/azurite_server.h"

#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <thread>
#include <vector>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "support/fake_server.h"

#ifndef EXOFLOW_SOURCE_DIR
#error "azurite_server.cc needs EXOFLOW_SOURCE_DIR (the checkout, for tests/synth/node_modules)"
#endif

namespace exoflow::testsupport {
namespace {

/// True when something accepts connections and answers HTTP on the port.
bool answers(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return false;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bool ok = false;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
    constexpr char kRequest[] = "GET /devstoreaccount1 HTTP/1.0\r\nHost: x\r\n\r\n";
    if (::send(fd, kRequest, sizeof kRequest - 1, MSG_NOSIGNAL) > 0) {
      char buffer[16] = {};
      ok = ::recv(fd, buffer, sizeof buffer - 1, 0) > 0 &&
           std::string(buffer).starts_with("HTTP/1.");
    }
  }
  ::close(fd);
  return ok;
}

} // namespace

std::string AzuriteServer::nodeModules() {
  return std::string(EXOFLOW_SOURCE_DIR) + "/tests/synth/node_modules";
}

AzuriteServer::AzuriteServer(bool skip_api_version_check) {
  start(skip_api_version_check);
}

void AzuriteServer::start(bool skip_api_version_check) {
  const std::string binary = nodeModules() + "/.bin/azurite";
  if (::access(binary.c_str(), X_OK) != 0) {
    why_ = binary + " is missing (run scripts/setup)";
    return;
  }
  std::string pattern = (std::filesystem::temp_directory_path() / "exo-azurite-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) {
    why_ = "mkdtemp failed";
    return;
  }
  dir_ = pattern;
  blob_port_ = unusedPort();
  queue_port_ = unusedPort();
  table_port_ = unusedPort();
  skip_api_version_check_ = skip_api_version_check;
  launch();
}

void AzuriteServer::launch() {
  const std::string binary = nodeModules() + "/.bin/azurite";
  const bool skip_api_version_check = skip_api_version_check_;
  why_.clear();
  pid_ = ::fork();
  if (pid_ == 0) {
    ::setpgid(0, 0);
    if (std::getenv("EXO_AZURITE_DEBUG") == nullptr) {
      ::freopen("/dev/null", "w", stdout);
      ::freopen("/dev/null", "w", stderr);
    }
    const std::string blob = std::to_string(blob_port_);
    const std::string queue = std::to_string(queue_port_);
    const std::string table = std::to_string(table_port_);
    std::vector<const char*> argv = {
        "azurite",     "--silent",    "--disableTelemetry", "--location",  dir_.c_str(),
        "--blobHost",  "127.0.0.1",   "--blobPort",         blob.c_str(),  "--queueHost",
        "127.0.0.1",   "--queuePort", queue.c_str(),        "--tableHost", "127.0.0.1",
        "--tablePort", table.c_str()};
    // Only for clients that send a newer x-ms-version than Azurite knows: the backends pin one
    // it accepts.
    if (skip_api_version_check) argv.push_back("--skipApiVersionCheck");
    argv.push_back(nullptr);
    ::execv(binary.c_str(), const_cast<char* const*>(argv.data()));
    ::_exit(127);
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (std::chrono::steady_clock::now() < deadline) {
    if (answers(blob_port_) && answers(queue_port_) && answers(table_port_)) return;
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      why_ = "azurite exited at start";
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  why_ = "azurite did not answer within 60 s";
}

void AzuriteServer::stop() {
  if (pid_ <= 0) return;
  // SIGCONT first: a test may have left it stopped.
  ::kill(-pid_, SIGCONT);
  ::kill(-pid_, SIGTERM);
  ::waitpid(pid_, nullptr, 0);
  pid_ = -1;
}

bool AzuriteServer::restart() {
  stop();
  launch();
  return available();
}

AzuriteServer::~AzuriteServer() {
  stop();
  if (!dir_.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
}

int AzuriteServer::client(const std::string& args, std::string* out) const {
  const std::string command = "NODE_PATH=" + nodeModules() + " AZURE_STORAGE_CONNECTION_STRING='" +
                              connectionString() + "' node " + EXOFLOW_SOURCE_DIR +
                              "/tests/support/azure_storage_client.js " + args;
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) return -1;
  std::string text;
  char buffer[4096];
  std::size_t n = 0;
  while ((n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0)
    text.append(buffer, n);
  const int status = ::pclose(pipe);
  if (out != nullptr) *out = std::move(text);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

std::string AzuriteServer::endpoint(int port) {
  return "http://127.0.0.1:" + std::to_string(port) + "/" + kAccount;
}

std::string AzuriteServer::connectionString() const {
  return std::string("DefaultEndpointsProtocol=http;AccountName=") + kAccount +
         ";AccountKey=" + kAccountKey + ";BlobEndpoint=" + blobEndpoint() +
         ";QueueEndpoint=" + queueEndpoint() + ";TableEndpoint=" + tableEndpoint() + ";";
}

} // namespace exoflow::testsupport
