#pragma once
// The web shop's logic. An order arrives over HTTP and is enqueued on "orders"; a worker takes
// it off the queue, writes a receipt object to "assets", a status record to "sessions" (kv) and
// a row to the shop-db database. Every one of those goes through exo-proxy, so the same code
// runs on a laptop (`exoflow up`), on AWS and on Azure.

#include <atomic>
#include <memory>
#include <mutex>
#include <string>

#include <exoflow/client.h>

#include "http_server.h"

struct pg_conn;

namespace webshop {

class Shop {
public:
  /// `database_url` is EXO_DB_SHOP_DB_URL; empty runs without the database.
  Shop(exoflow::client::Client client, std::string database_url);
  ~Shop();

  /// Opens the database and creates the orders table when needed; false (logged) on failure.
  bool start();
  /// The HTTP API: GET /healthz, POST /api/orders, GET /api/orders/{id}, GET /api/orders.
  Response handle(const Request& request);
  /// Consumes orders until `stop` is set.
  void runWorker(const std::atomic<bool>& stop);

private:
  Response placeOrder(const std::string& body);
  Response showOrder(const std::string& id);
  Response listOrders();
  /// Handles one message; true when it may be deleted from the queue.
  bool fulfil(const exoflow::client::ReceivedMessage& message);
  bool insertRow(const std::string& id, const std::string& item, int quantity);

  exoflow::client::Client client_;
  std::string database_url_;
  pg_conn* db_ = nullptr;
  std::mutex db_mutex_;
};

} // namespace webshop
