#include "http_server.h"

#include <utility>

#include <chrono>
#include <iostream>
#include <thread>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace webshop {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using tcp = asio::ip::tcp;

namespace {

void serveConnection(tcp::socket socket, const Handler& handler) {
  boost::beast::flat_buffer buffer;
  boost::system::error_code ec;
  while (true) {
    http::request_parser<http::string_body> parser;
    parser.body_limit(1 << 20);
    http::read(socket, buffer, parser, ec);
    if (ec) return; // closed, timed out or malformed: drop the connection
    const auto& req = parser.get();
    const Response out =
        handler(Request{std::string(req.method_string()), std::string(req.target()), req.body()});
    http::response<http::string_body> res{static_cast<http::status>(out.status), req.version()};
    res.set(http::field::server, "webshop-example");
    res.set(http::field::content_type, out.content_type);
    res.keep_alive(req.keep_alive());
    res.body() = out.body;
    res.prepare_payload();
    http::write(socket, res, ec);
    if (ec || !res.keep_alive()) return;
  }
}

} // namespace

bool serveHttp(int port, const Handler& handler, const std::atomic<bool>& stop) {
  asio::io_context io;
  tcp::acceptor acceptor(io);
  boost::system::error_code ec;
  const tcp::endpoint endpoint(tcp::v4(), static_cast<unsigned short>(port));
  acceptor.open(endpoint.protocol(), ec);
  if (!ec) acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    std::cerr << "webshop: cannot listen on port " << port << ": " << ec.message() << std::endl;
    return false;
  }
  acceptor.non_blocking(true);
  std::cout << "webshop: listening on port " << port << std::endl;
  while (!stop.load()) {
    tcp::socket socket(io);
    acceptor.accept(socket, ec);
    if (ec == asio::error::would_block || ec == asio::error::try_again) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      continue;
    }
    if (ec) continue;
    socket.non_blocking(false);
    std::thread(serveConnection, std::move(socket), std::cref(handler)).detach();
  }
  return true;
}

} // namespace webshop
