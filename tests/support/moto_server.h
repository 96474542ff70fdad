#pragma once
// A moto server (the AWS emulator, `moto_server` on this machine's Python) on a free loopback
// port for one test suite: started on first use, stopped by the destructor. Each test names its
// own resources, so suites share one server.

#include <string>

#include <sys/types.h>

namespace exoflow::testsupport {

class MotoServer {
public:
  /// Starts moto and waits until it answers (up to 60 s). available() tells whether it did;
  /// why() says why not (moto_server missing, no answer).
  MotoServer();
  ~MotoServer();
  MotoServer(const MotoServer&) = delete;
  MotoServer& operator=(const MotoServer&) = delete;

  bool available() const { return port_ > 0; }
  const std::string& why() const { return why_; }
  /// `http://127.0.0.1:<port>`
  std::string endpoint() const;
  pid_t pid() const { return pid_; }

private:
  pid_t pid_ = -1;
  int port_ = 0;
  std::string why_;
};

/// Runs the AWS CLI against `endpoint` with test credentials; returns its exit code and fills
/// `out` with its stdout (stderr goes to the test's stderr).
int awsCli(const std::string& endpoint, const std::string& args, std::string* out = nullptr);

} // namespace exoflow::testsupport
