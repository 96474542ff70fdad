#pragma once
// Azurite 3.35.0 (the Azure Storage emulator, from tests/synth/node_modules, installed by
// scripts/setup) on free loopback ports for Blob, Queue and Table, with its data in a temporary
// directory: started on first use, stopped (and its directory removed) by the destructor. The
// account is Azurite's well-known devstoreaccount1. Each test names its own queues and tables,
// so suites share one server.

#include <string>

#include <sys/types.h>

namespace exoflow::testsupport {

class AzuriteServer {
public:
  static constexpr const char* kAccount = "devstoreaccount1";
  /// Azurite's published development key for devstoreaccount1.
  static constexpr const char* kAccountKey =
      "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/"
      "KBHBeksoGMGw==";

  /// Starts Azurite and waits until all three services answer (up to 60 s). available()
  /// tells whether they did; why() says why not (not installed, no answer). The backends pin an
  /// x-ms-version Azurite knows; Microsoft's current npm clients send a newer one, which
  /// Azurite accepts only with `skip_api_version_check`.
  explicit AzuriteServer(bool skip_api_version_check = false);
  ~AzuriteServer();
  AzuriteServer(const AzuriteServer&) = delete;
  AzuriteServer& operator=(const AzuriteServer&) = delete;

  bool available() const { return pid_ > 0 && why_.empty(); }
  const std::string& why() const { return why_; }
  /// Path-style service endpoints: `http://127.0.0.1:<port>/devstoreaccount1`.
  std::string blobEndpoint() const { return endpoint(blob_port_); }
  std::string queueEndpoint() const { return endpoint(queue_port_); }
  std::string tableEndpoint() const { return endpoint(table_port_); }
  /// The connection string Microsoft's clients take.
  std::string connectionString() const;
  /// The process group's leader (node), for SIGSTOP / SIGCONT.
  pid_t pid() const { return pid_; }
  /// Stops Azurite (SIGTERM; it saves its data first): its ports refuse connections.
  void stop();
  /// Starts it again on the same ports and data; true once it answers.
  bool restart();

  /// Where the Node.js packages of tests/synth are (node_modules), for client scripts.
  static std::string nodeModules();

  /// Runs Microsoft's npm clients on this Azurite (tests/support/azure_storage_client.js, which
  /// lists the commands); returns the exit code and fills `out` with the JSON answer.
  int client(const std::string& args, std::string* out) const;

private:
  static std::string endpoint(int port);
  void start(bool skip_api_version_check);
  void launch();

  pid_t pid_ = -1;
  int blob_port_ = 0;
  int queue_port_ = 0;
  int table_port_ = 0;
  std::string dir_;
  std::string why_;
  bool skip_api_version_check_ = false;
};

} // namespace exoflow::testsupport
