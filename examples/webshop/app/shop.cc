#include "shop.h"

#include <chrono>
#include <iostream>
#include <random>
#include <thread>

#include <libpq-fe.h>
#include <nlohmann/json.hpp>

namespace webshop {

namespace {

using nlohmann::json;

Response jsonResponse(int status, const json& body) {
  return {status, "application/json", body.dump()};
}

Response errorResponse(int status, const std::string& message) {
  return jsonResponse(status, {{"error", message}});
}

std::string newOrderId() {
  static std::mt19937_64 random{std::random_device{}()};
  static std::mutex mutex;
  std::lock_guard lock(mutex);
  const auto now = std::chrono::system_clock::now().time_since_epoch();
  char id[40];
  std::snprintf(
      id, sizeof(id), "o-%lld-%04x",
      static_cast<long long>(std::chrono::duration_cast<std::chrono::seconds>(now).count()),
      static_cast<unsigned>(random() & 0xFFFF));
  return id;
}

} // namespace

Shop::Shop(exoflow::client::Client client, std::string database_url)
    : client_(std::move(client)), database_url_(std::move(database_url)) {}

Shop::~Shop() {
  if (db_ != nullptr) PQfinish(db_);
}

bool Shop::start() {
  if (database_url_.empty()) {
    std::cout << "webshop: no EXO_DB_SHOP_DB_URL; orders are not written to a database"
              << std::endl;
    return true;
  }
  db_ = PQconnectdb(database_url_.c_str());
  if (PQstatus(db_) != CONNECTION_OK) {
    std::cerr << "webshop: cannot connect to the database: " << PQerrorMessage(db_) << std::endl;
    return false;
  }
  PQclear(PQexec(db_, "SET client_min_messages TO warning"));
  PGresult* r = PQexec(db_, "CREATE TABLE IF NOT EXISTS orders (id text PRIMARY KEY, item text "
                            "NOT NULL, quantity integer NOT NULL, created_at timestamptz NOT NULL "
                            "DEFAULT now())");
  const bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
  if (!ok) std::cerr << "webshop: cannot create the orders table: " << PQerrorMessage(db_);
  PQclear(r);
  return ok;
}

Response Shop::handle(const Request& request) {
  const std::string& path = request.target;
  if (path == "/healthz") return jsonResponse(200, {{"status", "ok"}});
  if (path == "/api/orders" && request.method == "POST") return placeOrder(request.body);
  if (path == "/api/orders" && request.method == "GET") return listOrders();
  constexpr std::string_view kPrefix = "/api/orders/";
  if (path.rfind(kPrefix, 0) == 0 && request.method == "GET") {
    return showOrder(path.substr(kPrefix.size()));
  }
  return errorResponse(404, "no such route");
}

Response Shop::placeOrder(const std::string& body) {
  const json order = json::parse(body, nullptr, false);
  if (order.is_discarded() || !order.is_object() || !order.contains("item") ||
      !order["item"].is_string()) {
    return errorResponse(400, R"(send {"item": "name", "quantity": n})");
  }
  const int quantity = order.value("quantity", 1);
  const std::string id = newOrderId();
  exoflow::client::OutgoingMessage message;
  message.body = json{{"id", id}, {"item", order["item"]}, {"quantity", quantity}}.dump();
  message.attributes["kind"] = "order";
  message.dedup_id = id;
  auto sent = client_.sendMessage("orders", message);
  if (!sent)
    return errorResponse(503,
                         "could not enqueue the order: " + exoflow::client::describe(sent.error()));
  (void)client_.putItem("sessions", "order/" + id, json{{"status", "queued"}}.dump());
  return jsonResponse(202, {{"order_id", id}, {"message_id", *sent}});
}

Response Shop::showOrder(const std::string& id) {
  auto item = client_.getItem("sessions", "order/" + id);
  if (!item) {
    if (item.error().code == exoflow::client::ErrorCode::kNotFound) {
      return errorResponse(404, "no such order");
    }
    return errorResponse(503, exoflow::client::describe(item.error()));
  }
  json out = json::parse(item->value, nullptr, false);
  out["order_id"] = id;
  return jsonResponse(200, out);
}

Response Shop::listOrders() {
  exoflow::client::ListItemsOptions options;
  options.prefix = "order/";
  auto listing = client_.listItems("sessions", options);
  if (!listing) return errorResponse(503, exoflow::client::describe(listing.error()));
  json orders = json::array();
  for (const auto& item : listing->items) {
    json entry = json::parse(item.value, nullptr, false);
    entry["order_id"] = item.key.substr(6);
    orders.push_back(std::move(entry));
  }
  return jsonResponse(200, {{"orders", orders}});
}

bool Shop::insertRow(const std::string& id, const std::string& item, int quantity) {
  if (db_ == nullptr) return true;
  std::lock_guard lock(db_mutex_);
  const std::string qty = std::to_string(quantity);
  const char* params[] = {id.c_str(), item.c_str(), qty.c_str()};
  // ON CONFLICT: a redelivered message must not fail or double the order.
  PGresult* r = PQexecParams(db_,
                             "INSERT INTO orders (id, item, quantity) VALUES ($1, $2, $3::int) "
                             "ON CONFLICT (id) DO NOTHING",
                             3, nullptr, params, nullptr, nullptr, 0);
  const bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
  if (!ok) std::cerr << "webshop: insert failed: " << PQerrorMessage(db_);
  PQclear(r);
  return ok;
}

bool Shop::fulfil(const exoflow::client::ReceivedMessage& message) {
  const json order = json::parse(message.body, nullptr, false);
  if (order.is_discarded() || !order.contains("id")) {
    std::cerr << "webshop: dropping a malformed message " << message.message_id << std::endl;
    return true;
  }
  const std::string id = order["id"];
  const std::string item = order.value("item", "");
  const int quantity = order.value("quantity", 1);
  const std::string receipt =
      "Receipt for order " + id + "\n" + std::to_string(quantity) + " x " + item + "\n";
  exoflow::client::PutObjectOptions options;
  options.content_type = "text/plain";
  options.metadata["order"] = id;
  auto stored = client_.putObject("assets", "receipts/" + id + ".txt", receipt, options);
  if (!stored) {
    std::cerr << "webshop: receipt for " << id
              << " failed: " << exoflow::client::describe(stored.error()) << std::endl;
    return false;
  }
  if (!insertRow(id, item, quantity)) return false;
  const json status = {{"status", "fulfilled"},
                       {"item", item},
                       {"quantity", quantity},
                       {"receipt", "receipts/" + id + ".txt"},
                       {"etag", stored->etag}};
  auto saved = client_.putItem("sessions", "order/" + id, status.dump());
  if (!saved) {
    std::cerr << "webshop: status of " << id
              << " failed: " << exoflow::client::describe(saved.error()) << std::endl;
    return false;
  }
  std::cout << "webshop: fulfilled order " << id << " (" << quantity << " x " << item
            << "), receipt etag " << stored->etag << std::endl;
  return true;
}

void Shop::runWorker(const std::atomic<bool>& stop) {
  exoflow::client::ReceiveOptions options;
  options.max_messages = 10;
  options.wait = std::chrono::seconds(2);
  while (!stop.load()) {
    auto messages = client_.receiveMessages("orders", options);
    if (!messages) {
      std::cerr << "webshop: receive failed: " << exoflow::client::describe(messages.error())
                << std::endl;
      std::this_thread::sleep_for(std::chrono::seconds(1));
      continue;
    }
    for (const auto& message : *messages) {
      // Not deleted on failure: the message becomes visible again and is retried.
      if (fulfil(message)) (void)client_.deleteMessage("orders", message.receipt);
    }
  }
}

} // namespace webshop
