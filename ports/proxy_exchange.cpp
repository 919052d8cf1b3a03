#include "ports/proxy_exchange.hpp"

#include <unistd.h>

#include <array>
#include <charconv>

#include <boost/asio/ip/address_v4.hpp>
#include <boost/asio/ip/address_v6.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/status.hpp>

#include "app/app.hpp"
#include "core/log.hpp"
#include "ports/byte_tunnel.hpp"
#include "ports/port_registry.hpp"
#include "server/render.hpp"

namespace sbx::ports {
namespace {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace net = boost::asio;

constexpr auto k_connect_timeout = std::chrono::seconds(5);
// Per-direction buffer: bounds memory per exchange whatever the body size.
constexpr std::size_t k_piece_bytes = 64 * 1024;
constexpr std::uint32_t k_target_header_limit = 64 * 1024;
// Bytes a client may send ahead (a pipelined request) while it waits.
constexpr std::size_t k_pipelined_limit = 64 * 1024;

header_list fields_of(const bhttp::fields& fields) {
  header_list out;
  for (const auto& f : fields) out.emplace_back(f.name_string(), f.value());
  return out;
}

std::optional<std::uint64_t> content_length_of(const bhttp::fields& fields) {
  auto it = fields.find(bhttp::field::content_length);
  if (it == fields.end()) return std::nullopt;
  auto v = it->value();
  std::uint64_t n = 0;
  auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
  if (ec != std::errc() || end != v.data() + v.size()) return std::nullopt;
  return n;
}

// `n` body bytes as they go on the wire: a chunk when `chunked` (then also the
// last-chunk marker after the final piece), else the bytes themselves.
// Unused slots stay empty.
std::array<net::const_buffer, 4> framed_piece(const char* data, std::size_t n, bool last,
                                              bool chunked, const std::string& size_line) {
  std::array<net::const_buffer, 4> pieces;
  if (n > 0) {
    if (chunked) pieces[0] = net::buffer(size_line);
    pieces[1] = net::buffer(data, n);
    if (chunked) pieces[2] = net::buffer(k_chunk_end.data(), k_chunk_end.size());
  }
  if (last && chunked) pieces[3] = net::buffer(k_last_chunk.data(), k_last_chunk.size());
  return pieces;
}

}  // namespace

proxy_exchange::proxy_exchange(app& a, http::request req,
                               std::unique_ptr<http::connection_handoff> conn)
    : app_(a),
      req_(std::move(req)),
      conn_(std::move(conn)),
      upstream_(conn_->stream.get_executor()) {
  // The transport armed an idle timeout for reading the header; a proxied
  // exchange may stream for as long as both sides keep it open.
  conn_->stream.expires_never();
  started_ = conn_->started;
  const auto& parser = *conn_->parser;
  method_ = std::string(parser.get().method_string());
  client_keep_alive_ = parser.keep_alive();
  client_http11_ = parser.get().version() >= 11;
  if (parser.upgrade()) upgrade_ = std::string(parser.get()[bhttp::field::upgrade]);
  request_done_ = parser.is_done();
}

void proxy_exchange::reject(const api_error& error) {
  respond_error(error);
}

void proxy_exchange::forward(int port, std::string target) {
  port_ = port;
  target_ = std::move(target);
  auto& parser = *conn_->parser;
  if (auto length = parser.content_length())
    request_framing_ = {body_framing::kind::length, *length};
  else if (parser.chunked())
    request_framing_ = {body_framing::kind::chunked, 0};
  if (!request_done_) {
    // The body is read in bounded pieces however large it is. A flat_buffer
    // reads at most its free capacity, so give it room for whole pieces.
    request_body_.emplace(std::move(parser));
    request_body_->body_limit(boost::none);
    conn_->buffer.reserve(k_piece_bytes);
    up_piece_ = std::make_unique<char[]>(k_piece_bytes);
  } else {
    watch_client();
  }
  // A request without a body to stream can be sent again on a fresh
  // connection if a reused one turns out to be closed, so only such requests
  // take an idle connection.
  if (request_done_ && upgrade_.empty()) {
    if (auto idle = app_.ports().upstreams().take(port_)) {
      beast::error_code ec;
      upstream_.socket().assign(idle->ipv6 ? net::ip::tcp::v6() : net::ip::tcp::v4(), idle->fd, ec);
      if (!ec) {
        reused_ = true;
        ipv6_ = idle->ipv6;
        upstream_socket_ = std::move(idle->socket);
        return send_request_head();
      }
      ::close(idle->fd);
    }
  }
  connect(false);
}

void proxy_exchange::connect(bool ipv6) {
  if (!upstream_socket_) upstream_socket_ = app_.sockets().take_upstream();
  if (!upstream_socket_)
    return fail_upstream(
        "too many proxied connections are open (the share of the daemon's descriptor limit "
        "they may use is taken); retry when some have closed");
  auto address = ipv6 ? net::ip::address(net::ip::address_v6::loopback())
                      : net::ip::address(net::ip::address_v4::loopback());
  upstream_.expires_after(k_connect_timeout);
  upstream_.async_connect(
      net::ip::tcp::endpoint(address, static_cast<unsigned short>(port_)),
      [self = shared_from_this(), ipv6](beast::error_code ec) { self->on_connect(ec, ipv6); });
}

void proxy_exchange::on_connect(beast::error_code ec, bool ipv6) {
  if (finished_) return;
  if (ec) {
    if (connect_error_.empty())
      connect_error_ =
          ec == beast::error::timeout
              ? "connection timed out after " +
                    std::to_string(std::chrono::milliseconds(k_connect_timeout).count()) + " ms"
              : ec.message();
    // A service bound to "localhost" may listen on ::1 only.
    if (!ipv6 && ec != beast::error::timeout) {
      upstream_.close();
      return connect(true);
    }
    return fail_upstream(connect_error_);
  }
  upstream_.expires_never();
  upstream_.socket().set_option(net::ip::tcp::no_delay(true), ec);
  ipv6_ = ipv6;
  send_request_head();
}

void proxy_exchange::send_request_head() {
  auto headers = req_.headers;
  up_head_ = upstream_request_head(upstream_request{method_, target_, headers, req_.remote_address,
                                                    port_, request_framing_, upgrade_});
  net::async_write(upstream_, net::buffer(up_head_),
                   [self = shared_from_this()](beast::error_code e, std::size_t) {
                     self->on_request_head_written(e);
                   });
}

void proxy_exchange::on_request_head_written(beast::error_code ec) {
  if (finished_) return;
  if (ec && reused_) return reconnect();
  if (ec) return fail_upstream(ec.message());
  read_response_head();
  if (request_body_) pump_request();
}

// --- client -> target ----------------------------------------------------------

void proxy_exchange::pump_request() {
  auto& body = request_body_->get().body();
  body.data = up_piece_.get();
  body.size = k_piece_bytes;
  body.more = true;
  bhttp::async_read_some(conn_->stream, conn_->buffer, *request_body_,
                         [self = shared_from_this()](beast::error_code ec, std::size_t) {
                           self->on_request_piece(ec);
                         });
}

void proxy_exchange::on_request_piece(beast::error_code ec) {
  if (finished_) return;
  if (ec == bhttp::error::need_buffer) ec = {};
  if (ec) {
    // The client went away or sent a broken body: nothing sensible can follow.
    log::debug("proxy: client request body failed", {{"port", port_}, {"error", ec.message()}});
    return abort();
  }
  std::size_t n = k_piece_bytes - request_body_->get().body().size;
  bool last = request_body_->is_done();
  bool chunked = request_framing_.how == body_framing::kind::chunked;

  if (n > 0 && chunked) up_chunk_line_ = chunk_size_line(n);
  auto pieces = framed_piece(up_piece_.get(), n, last, chunked, up_chunk_line_);
  if (net::buffer_size(pieces) == 0)
    return last ? on_request_piece_written({}, true) : pump_request();

  net::async_write(upstream_, pieces,
                   [self = shared_from_this(), last](beast::error_code e, std::size_t) {
                     self->on_request_piece_written(e, last);
                   });
}

void proxy_exchange::on_request_piece_written(beast::error_code ec, bool last) {
  if (finished_) return;
  if (ec) {
    // The target stopped reading (it may have answered early, e.g. 413); its
    // response, or the lack of one, decides what the client gets. The rest of
    // the request stays unread, so the client connection closes afterwards.
    request_failed_ = true;
    return;
  }
  if (!last) return pump_request();
  request_done_ = true;
  watch_client();
}

// --- target -> client ----------------------------------------------------------

void proxy_exchange::read_response_head() {
  response_.emplace();
  response_->header_limit(k_target_header_limit);
  response_->body_limit(boost::none);
  if (method_ == "HEAD") response_->skip(true);
  bhttp::async_read_header(upstream_, upstream_buffer_, *response_,
                           [self = shared_from_this()](beast::error_code ec, std::size_t) {
                             self->on_response_head(ec);
                           });
}

void proxy_exchange::on_response_head(beast::error_code ec) {
  if (finished_) return;
  // A reused connection the target closed while it was idle: nothing of the
  // answer has been read, so the request goes again on a new connection.
  if (ec && reused_ && upstream_buffer_.size() == 0) return reconnect();
  reused_ = false;
  if (ec) {
    if (ec == bhttp::error::end_of_stream || ec == net::error::eof)
      return fail_upstream("the target closed the connection without answering");
    return fail_upstream(ec.message());
  }
  const auto& head = response_->get();
  unsigned status = head.result_int();
  auto headers = fields_of(head.base());
  auto reason = std::string(head.reason());
  if (reason.empty()) reason = std::string(bhttp::obsolete_reason(head.result()));

  bool switching = status == 101 && !upgrade_.empty();
  bool interim = status >= 100 && status < 200 && !switching;
  if (switching || interim) {
    response_framing_ = {};
  } else if (method_ == "HEAD" || status == 204 || status == 304) {
    auto length = content_length_of(head.base());
    response_framing_ = length && status != 204
                            ? body_framing{body_framing::kind::length_only, *length}
                            : body_framing{};
  } else if (auto length = response_->content_length()) {
    response_framing_ = {body_framing::kind::length, *length};
  } else {
    response_framing_ = {
        client_http11_ ? body_framing::kind::chunked : body_framing::kind::until_close, 0};
  }
  bool keep_alive = client_keep_alive_ &&
                    response_framing_.how != body_framing::kind::until_close && !request_failed_ &&
                    !client_done_sending_ && !app_.shutting_down();
  if (!interim) status_ = status;

  std::string upgrade;
  if (switching) upgrade = std::string(head[bhttp::field::upgrade]);
  down_head_ = client_response_head(
      client_response{status, reason, headers, response_framing_, keep_alive || interim, upgrade});
  net::async_write(
      conn_->stream, net::buffer(down_head_),
      [self = shared_from_this(), interim, switching](beast::error_code e, std::size_t n) {
        if (self->finished_) return;
        self->bytes_out_ += n;
        if (e) return self->abort();
        // 100 Continue and friends: the real answer follows.
        if (interim) return self->read_response_head();
        if (switching) return self->start_tunnel();
        self->on_response_head_written();
      });
}

void proxy_exchange::on_response_head_written() {
  head_sent_ = true;
  auto how = response_framing_.how;
  if (how == body_framing::kind::none || how == body_framing::kind::length_only ||
      response_->is_done())
    return finish();
  upstream_buffer_.reserve(k_piece_bytes);
  down_piece_ = std::make_unique<char[]>(k_piece_bytes);
  pump_response();
}

void proxy_exchange::pump_response() {
  auto& body = response_->get().body();
  body.data = down_piece_.get();
  body.size = k_piece_bytes;
  body.more = true;
  bhttp::async_read_some(upstream_, upstream_buffer_, *response_,
                         [self = shared_from_this()](beast::error_code ec, std::size_t) {
                           self->on_response_piece(ec);
                         });
}

void proxy_exchange::on_response_piece(beast::error_code ec) {
  if (finished_) return;
  if (ec == bhttp::error::need_buffer) ec = {};
  if (ec) {
    // The head is out; all the client can be told is that the body broke off.
    log::debug("proxy: target response body failed", {{"port", port_}, {"error", ec.message()}});
    return abort();
  }
  // Each piece goes out as soon as it arrives (Server-Sent Events stay live).
  std::size_t n = k_piece_bytes - response_->get().body().size;
  bool last = response_->is_done();
  bool chunked = response_framing_.how == body_framing::kind::chunked;

  if (n > 0 && chunked) down_chunk_line_ = chunk_size_line(n);
  auto pieces = framed_piece(down_piece_.get(), n, last, chunked, down_chunk_line_);
  if (net::buffer_size(pieces) == 0) return last ? finish() : pump_response();

  net::async_write(conn_->stream, pieces,
                   [self = shared_from_this(), last](beast::error_code e, std::size_t bytes) {
                     self->on_response_piece_written(e, bytes, last);
                   });
}

void proxy_exchange::on_response_piece_written(beast::error_code ec, std::size_t bytes, bool last) {
  if (finished_) return;
  bytes_out_ += bytes;
  if (ec) return abort();
  if (last) return finish();
  pump_response();
}

void proxy_exchange::start_tunnel() {
  finished_ = true;
  head_sent_ = true;
  log_once();
  if (!request_done_) return abort();
  after_watch([self = shared_from_this()] {
    if (!self->conn_) return;
    start_byte_tunnel(std::move(self->conn_->stream), std::move(self->conn_->buffer),
                      std::move(self->upstream_), std::move(self->upstream_buffer_),
                      std::move(self->conn_->socket), std::move(self->upstream_socket_));
    self->conn_.reset();
  });
}

// --- the client while it waits ----------------------------------------------------

void proxy_exchange::watch_client() {
  if (finished_ || watching_ || !conn_) return;
  watching_ = true;
  // Any bytes that arrive (a pipelined request) stay in the buffer for the
  // next request on this connection.
  conn_->stream.async_read_some(conn_->buffer.prepare(4096),
                                [self = shared_from_this()](beast::error_code ec, std::size_t n) {
                                  self->watching_ = false;
                                  self->conn_->buffer.commit(n);
                                  if (self->after_watch_) {
                                    auto next = std::move(self->after_watch_);
                                    self->after_watch_ = nullptr;
                                    return next();
                                  }
                                  if (self->finished_) return;
                                  // A client may close its sending side once the
                                  // request is out and still read the answer: only
                                  // a failed write tells it has gone.
                                  if (ec == net::error::eof && self->request_done_) {
                                    self->client_done_sending_ = true;
                                    return;
                                  }
                                  if (ec || self->conn_->buffer.size() > k_pipelined_limit)
                                    return self->abort();
                                  self->watch_client();
                                });
}

void proxy_exchange::after_watch(std::function<void()> next) {
  if (!watching_) return next();
  after_watch_ = std::move(next);
  conn_->stream.socket().cancel();
}

// --- endings ---------------------------------------------------------------------

void proxy_exchange::fail_upstream(const std::string& reason) {
  if (head_sent_) return abort();
  log::debug("proxy: target failed", {{"port", port_}, {"error", reason}});
  auto e = make_error(codes::service_not_responding,
                      "Failed to proxy request to port " + std::to_string(port_) + ": " + reason,
                      {{"port", port_}});
  e.extra = {{"error", "Proxy error"}, {"port", port_}};
  respond_error(e);
}

void proxy_exchange::respond_error(const api_error& error) {
  finished_ = true;
  close_upstream();
  status_ = static_cast<unsigned>(error.http_status());
  bool keep_alive =
      client_keep_alive_ && request_done_ && !client_done_sending_ && !app_.shutting_down();
  std::string body = http::dump_json(http::render_error(error));
  down_head_ = "HTTP/1.1 " + std::to_string(status_) + " " +
               std::string(bhttp::obsolete_reason(static_cast<bhttp::status>(status_))) + "\r\n";
  down_head_ += "Content-Type: application/json\r\n";
  down_head_ += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  for (const auto& [name, value] : http::k_cors_headers)
    down_head_.append(name).append(": ").append(value).append("\r\n");
  if (!keep_alive) down_head_ += "Connection: close\r\n";
  down_head_ += "\r\n";
  down_head_ += body;
  net::async_write(conn_->stream, net::buffer(down_head_),
                   [self = shared_from_this(), keep_alive](beast::error_code ec, std::size_t n) {
                     self->bytes_out_ += n;
                     self->log_once();
                     if (ec || !keep_alive) return self->close_client();
                     self->hand_back_client();
                   });
}

void proxy_exchange::reconnect() {
  reused_ = false;
  beast::error_code ignored;
  upstream_.socket().close(ignored);
  upstream_buffer_.clear();
  response_.reset();
  connect(false);
}

void proxy_exchange::finish() {
  finished_ = true;
  park_upstream();
  close_upstream();
  log_once();
  bool keep_alive =
      client_keep_alive_ && request_done_ && !request_failed_ && !client_done_sending_ &&
      response_framing_.how != body_framing::kind::until_close && !app_.shutting_down();
  if (!keep_alive) return close_client();
  hand_back_client();
}

void proxy_exchange::hand_back_client() {
  after_watch([self = shared_from_this()] {
    if (!self->conn_) return;
    http::resume_session(self->app_, std::move(self->conn_));
  });
}

void proxy_exchange::abort() {
  finished_ = true;
  if (!head_sent_) status_ = 502;
  log_once();
  close_upstream();
  close_client();
}

void proxy_exchange::park_upstream() {
  // Only a connection whose exchange ended exactly at a message boundary can
  // carry the next request.
  auto how = response_framing_.how;
  bool framed = how == body_framing::kind::length || how == body_framing::kind::chunked ||
                how == body_framing::kind::none || how == body_framing::kind::length_only;
  if (!response_ || !response_->is_done() || !response_->keep_alive() || !framed ||
      !request_done_ || request_failed_ || !upgrade_.empty() || upstream_buffer_.size() != 0 ||
      !upstream_.socket().is_open() || app_.shutting_down())
    return;
  beast::error_code ec;
  int fd = upstream_.socket().release(ec);
  if (ec) return;
  app_.ports().upstreams().park(port_, upstream_pool::idle{fd, ipv6_, std::move(upstream_socket_)});
}

void proxy_exchange::close_upstream() {
  beast::error_code ec;
  upstream_.socket().shutdown(net::ip::tcp::socket::shutdown_both, ec);
  upstream_.close();
  upstream_socket_.release();
}

void proxy_exchange::close_client() {
  if (!conn_) return;
  beast::error_code ec;
  conn_->stream.socket().shutdown(net::ip::tcp::socket::shutdown_send, ec);
  conn_->stream.close();
}

void proxy_exchange::log_once() {
  if (logged_) return;
  logged_ = true;
  http::log_request(method_, req_.path, status_, bytes_out_, started_, req_.trace_id);
}

}  // namespace sbx::ports
