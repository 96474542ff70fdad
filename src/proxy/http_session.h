#pragma once
// Internal to the HTTP server: one client connection. Reads requests one after another
// (keep-alive), asks the Handler for a Plan, reads or streams the body, writes the response,
// and enforces the limits and timeouts. Everything runs on the connection's thread: the one
// thread that runs the io_context the connection was accepted onto.

#include <utility>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include "proxy/config.h"
#include "proxy/http_types.h"

namespace exoflow::proxy {

/// Shared by the listener and its sessions: the limits, the handler and the live count.
struct ServerShared {
  Limits limits;
  Handler* handler = nullptr;
  std::atomic<int> connections{0};
  std::atomic<bool> draining{false};
  /// Called (from any thread, from the session's destructor) whenever a session ends.
  std::function<void(const void* session)> on_session_end;
};

/// A connection's bytes: plain TCP (the app listener) or TLS over TCP (the peer listener).
/// Beast's HTTP reads and writes take either through it.
class SessionStream {
public:
  using executor_type = boost::beast::tcp_stream::executor_type;
  using TlsStream = boost::beast::ssl_stream<boost::beast::tcp_stream>;

  explicit SessionStream(boost::asio::ip::tcp::socket socket) : plain_(std::move(socket)) {}
  SessionStream(boost::asio::ip::tcp::socket socket, boost::asio::ssl::context& tls)
      : plain_(socket.get_executor()), tls_(std::in_place, std::move(socket), tls) {}

  // NOLINTNEXTLINE(readability-identifier-naming): the names Asio's stream concepts require.
  executor_type get_executor() { return lowest().get_executor(); }
  /// The TCP stream underneath: timeouts, shutdown, close.
  boost::beast::tcp_stream& lowest() {
    return tls_ ? boost::beast::get_lowest_layer(*tls_) : plain_;
  }
  /// Null for a plain connection.
  TlsStream* tls() { return tls_ ? &*tls_ : nullptr; }

  template <typename Buffers, typename Handler>
  // NOLINTNEXTLINE(readability-identifier-naming)
  void async_read_some(const Buffers& buffers, Handler&& handler) {
    if (tls_) {
      tls_->async_read_some(buffers, std::forward<Handler>(handler));
    } else {
      plain_.async_read_some(buffers, std::forward<Handler>(handler));
    }
  }
  template <typename Buffers, typename Handler>
  // NOLINTNEXTLINE(readability-identifier-naming)
  void async_write_some(const Buffers& buffers, Handler&& handler) {
    if (tls_) {
      tls_->async_write_some(buffers, std::forward<Handler>(handler));
    } else {
      plain_.async_write_some(buffers, std::forward<Handler>(handler));
    }
  }

private:
  boost::beast::tcp_stream plain_; ///< unused (never opened) under TLS
  std::optional<TlsStream> tls_;
};

/// A unique id for a request: a random prefix per process and a counter.
std::string newRequestId();

class Session : public std::enable_shared_from_this<Session> {
public:
  /// Takes a connected socket; the caller has already counted it in `shared.connections`.
  /// With `tls`, the connection is the peer listener's: TLS first, and its requests are marked
  /// RequestHead::from_peer.
  Session(boost::asio::ip::tcp::socket socket, std::shared_ptr<ServerShared> shared,
          boost::asio::ssl::context* tls = nullptr);
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  /// Starts reading the first request.
  void start();
  /// Drain: an idle connection closes now, a busy one after its current response.
  void drain();
  /// Closes the connection whatever it is doing (the end of a drain that took too long).
  void forceClose();
  /// The connection's executor (its thread): drain() and forceClose() must run on it.
  SessionStream::executor_type executor() { return stream_.get_executor(); }

private:
  using Parser = boost::beast::http::request_parser<boost::beast::http::buffer_body>;
  enum class State { kIdle, kReadingHead, kBusy, kClosing };

  void onHandshake(boost::beast::error_code ec);
  void readRequest();
  void onIdleData(boost::beast::error_code ec, std::size_t bytes);
  void readHead();
  void onHead(boost::beast::error_code ec);
  void dispatch();
  void sendContinue();
  void readBody();
  void onBody(boost::beast::error_code ec);
  void bodyComplete();
  void discardBody();
  void onDiscard(boost::beast::error_code ec);

  /// A Respond that posts the response back to this session's thread, at most once.
  Respond responder();
  void writeResponse(Response response);
  void onWritten(boost::beast::error_code ec);
  void streamNext();
  void onStreamChunk(Result<std::string> chunk);
  void finishResponse();

  /// Writes an error the HTTP layer found and closes the connection afterwards.
  void failRequest(ErrorCode code, std::string message);
  /// Shuts down sending, reads what the client still sends for a moment, then closes, so a
  /// response is not lost to a reset.
  void lingeringClose();
  void lingerRead();
  void close();

  SessionStream stream_;
  std::shared_ptr<ServerShared> shared_;
  boost::beast::flat_buffer buffer_;
  std::optional<Parser> parser_;
  State state_ = State::kIdle;
  bool first_request_ = true;
  bool keep_alive_ = true;
  bool drain_requested_ = false;

  RequestHead head_;
  Plan plan_;
  std::uint64_t body_limit_ = 0;
  std::uint64_t body_received_ = 0;
  std::string body_;           ///< the buffered body
  std::string chunk_;          ///< the read buffer of buffer_body
  std::uint64_t lingered_ = 0; ///< bytes read during a lingering close

  Response response_;
  std::string response_head_;
  std::uint64_t streamed_ = 0;
  std::string stream_chunk_;
  bool head_written_ = false;
};

} // namespace exoflow::proxy
