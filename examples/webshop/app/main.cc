// The example web shop: a small HTTP app that uses a queue, objects, kv and a database, all
// through exo-proxy (EXO_ENDPOINT, EXO_TOKEN) and EXO_DB_SHOP_DB_URL.
//   webshop --port 8080
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <thread>

#include <signal.h>

#include "http_server.h"
#include "shop.h"

namespace {
std::atomic<bool> g_stop{false};
void onSignal(int) {
  g_stop.store(true);
}
} // namespace

int main(int argc, char** argv) {
  int port = 8080;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--port") == 0 && i + 1 < argc) {
      port = std::atoi(argv[++i]);
    } else {
      std::cerr << "usage: webshop [--port N]" << std::endl;
      return 2;
    }
  }
  auto client = exoflow::client::Client::fromEnvironment();
  if (!client) {
    std::cerr << "webshop: " << client.error().message << std::endl;
    return 1;
  }
  const char* db_url = std::getenv("EXO_DB_SHOP_DB_URL");
  webshop::Shop shop(std::move(*client), db_url != nullptr ? db_url : "");
  if (!shop.start()) return 1;

  struct sigaction action {};
  action.sa_handler = onSignal;
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);

  std::thread worker([&shop] { shop.runWorker(g_stop); });
  const bool served = webshop::serveHttp(
      port, [&shop](const webshop::Request& r) { return shop.handle(r); }, g_stop);
  g_stop.store(true);
  worker.join();
  std::cout << "webshop: stopped" << std::endl;
  return served ? 0 : 1;
}
