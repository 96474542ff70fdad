#include "support/moto_server.h"

#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <thread>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "support/fake_server.h"

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
    constexpr char kRequest[] = "GET /moto-api/ HTTP/1.0\r\nHost: x\r\n\r\n";
    if (::send(fd, kRequest, sizeof kRequest - 1, MSG_NOSIGNAL) > 0) {
      char buffer[16] = {};
      ok = ::recv(fd, buffer, sizeof buffer - 1, 0) > 0 &&
           std::string(buffer).starts_with("HTTP/1.");
    }
  }
  ::close(fd);
  return ok;
}

/// moto_server with one change: its DynamoDB requests run one at a time. moto checks a
/// ConditionExpression and then writes without a lock, so two conditional writes racing on one
/// item can both succeed; DynamoDB itself applies each item write atomically, which the kv
/// suite checks. Nothing else (SQS long polls, S3) waits on the lock.
constexpr const char* kMotoWithAtomicDynamoDb = R"py(
import sys, threading
from moto.dynamodb.responses import DynamoHandler
from moto.server import main
lock = threading.Lock()
call_action = DynamoHandler.call_action
def serialized(self):
    with lock:
        return call_action(self)
DynamoHandler.call_action = serialized
main(sys.argv[1:])
)py";

} // namespace

MotoServer::MotoServer() {
  if (std::system("command -v moto_server >/dev/null 2>&1") != 0) {
    why_ = "moto_server is not installed (pip install 'moto[server]')";
    return;
  }
  // The Python that runs moto_server, when python3 is that one (else moto as it comes).
  const bool patchable =
      std::system("python3 -c 'import moto.dynamodb.responses, moto.server' >/dev/null 2>&1") == 0;
  const int port = unusedPort();
  pid_ = ::fork();
  if (pid_ == 0) {
    ::setpgid(0, 0);
    ::freopen("/dev/null", "w", stdout);
    ::freopen("/dev/null", "w", stderr);
    const std::string p = std::to_string(port);
    if (patchable) {
      ::execlp("python3", "python3", "-c", kMotoWithAtomicDynamoDb, "-H", "127.0.0.1", "-p",
               p.c_str(), static_cast<char*>(nullptr));
    }
    ::execlp("moto_server", "moto_server", "-H", "127.0.0.1", "-p", p.c_str(),
             static_cast<char*>(nullptr));
    ::_exit(127);
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (std::chrono::steady_clock::now() < deadline) {
    if (answers(port)) {
      port_ = port;
      return;
    }
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      why_ = "moto_server exited at start";
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  why_ = "moto_server did not answer within 60 s";
}

MotoServer::~MotoServer() {
  if (pid_ <= 0) return;
  // SIGCONT first: a test may have left it stopped.
  ::kill(-pid_, SIGCONT);
  ::kill(-pid_, SIGTERM);
  ::waitpid(pid_, nullptr, 0);
}

std::string MotoServer::endpoint() const {
  return "http://127.0.0.1:" + std::to_string(port_);
}

int awsCli(const std::string& endpoint, const std::string& args, std::string* out) {
  const std::string command =
      "AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_DEFAULT_REGION=us-east-1 "
      "AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null aws --endpoint-url " +
      endpoint + " " + args;
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

} // namespace exoflow::testsupport
