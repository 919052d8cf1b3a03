#include "server/connection.hpp"

#include <array>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http/read.hpp>

#include "app/app.hpp"
#include "core/clock.hpp"
#include "core/large_buffer.hpp"
#include "core/log.hpp"
#include "server/handoff.hpp"
#include "server/render.hpp"
#include "server/response_head.hpp"
#include "server/sse.hpp"

namespace sbx::http {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace net = boost::asio;

namespace {

constexpr auto k_keepalive_interval = std::chrono::seconds(15);
// How long an event stream's head waits for the first events.
constexpr auto k_head_hold = std::chrono::milliseconds(10);

method to_method(bhttp::verb v) {
  switch (v) {
    case bhttp::verb::get:
      return method::get;
    case bhttp::verb::post:
      return method::post;
    case bhttp::verb::put:
      return method::put;
    case bhttp::verb::delete_:
      return method::del;
    case bhttp::verb::head:
      return method::head;
    case bhttp::verb::patch:
      return method::patch;
    case bhttp::verb::options:
      return method::options;
    default:
      return method::other;
  }
}

// Pieces of at most this size (stream chunks, response bodies) are copied
// next to their neighbours; larger ones go to the socket as buffers of their own.
constexpr std::size_t k_inline_bytes = 16 * 1024;

// Appends `data` as one chunk of the chunked transfer coding.
void append_chunk(std::vector<std::string>& out, std::string data) {
  char size[20];
  int n = std::snprintf(size, sizeof size, "%zx\r\n", data.size());
  if (out.empty() || out.back().size() > k_inline_bytes) out.emplace_back();
  out.back().append(size, static_cast<std::size_t>(n));
  if (data.size() <= k_inline_bytes) {
    out.back() += data;
    out.back() += "\r\n";
    return;
  }
  out.push_back(std::move(data));
  out.emplace_back("\r\n");
}

api_error not_found_error() {
  auto e = make_error(codes::unknown_error, "The requested endpoint was not found");
  e.status = 404;
  return e;
}

bool is_benign(const beast::error_code& ec) {
  return ec == net::error::operation_aborted || ec == beast::error::timeout ||
         ec == bhttp::error::end_of_stream || ec == net::error::eof ||
         ec == net::error::connection_reset || ec == net::error::broken_pipe;
}

}  // namespace

void log_request(std::string_view verb, std::string_view path, unsigned status, std::uint64_t bytes,
                 std::chrono::steady_clock::time_point started, std::string_view trace_id) {
  if (!log::enabled(log::level::info)) return;
  auto us = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() -
                                                                  started)
                .count();
  log::info("request", {{"method", verb},
                        {"path", path},
                        {"status", status},
                        {"bytes", bytes},
                        {"durationMs", static_cast<double>(us) / 1000.0},
                        {"traceId", trace_id}});
}

connection::connection(app& a, beast::tcp_stream stream, beast::flat_buffer buffer)
    : app_(a),
      io_(net::query(stream.get_executor(), net::execution::context)),
      stream_(std::move(stream)),
      buffer_(std::move(buffer)),
      idle_timer_(stream_.get_executor()),
      keepalive_(stream_.get_executor()),
      socket_(a.sockets().take_client()) {
  app_.add_connection(this, io_);
}

connection::~connection() {
  app_.remove_connection(this, io_);
  if (in_request_) app_.request_finished();
}

void connection::start() {
  // Once per connection (it is only needed to forward requests by proxy).
  beast::error_code addr_ec;
  auto endpoint = stream_.socket().remote_endpoint(addr_ec);
  if (!addr_ec) remote_address_ = endpoint.address().to_string();
  net::dispatch(stream_.get_executor(), [self = shared_from_this()] { self->do_read(); });
}

void connection::shutdown() {
  net::post(stream_.get_executor(), [weak = weak_from_this()] {
    auto self = weak.lock();
    if (!self) return;
    self->shutdown_requested_ = true;
    if (self->channel_) self->channel_->cancel();
    if (self->idle_) self->close();
  });
}

void connection::do_read() {
  if (closed_) return;
  if (shutdown_requested_) return close();
  idle_ = true;
  head_request_ = false;
  header_parser_ = std::make_unique<header_parser>();
  header_parser_->header_limit(static_cast<std::uint32_t>(app_.cfg().max_header_bytes));
  // The body limit is enforced by the body parser (and Content-Length is checked
  // first, for a clean 413); the proxy streams bodies of any size.
  header_parser_->body_limit(boost::none);
  reading_ = true;
  read_deadline_ =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(app_.cfg().idle_timeout_ms);
  arm_idle_timer();
  bhttp::async_read_header(
      stream_, buffer_, *header_parser_,
      [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_header(ec); });
}

void connection::arm_idle_timer() {
  if (idle_timer_armed_) return;
  idle_timer_armed_ = true;
  idle_timer_.expires_at(read_deadline_);
  idle_timer_.async_wait([weak = weak_from_this()](beast::error_code ec) {
    auto self = weak.lock();
    if (!self) return;
    self->idle_timer_armed_ = false;
    if (ec || self->closed_ || !self->reading_) return;
    // A later request moved the deadline: wait for the rest of it.
    if (std::chrono::steady_clock::now() < self->read_deadline_) return self->arm_idle_timer();
    self->close();
  });
}

void connection::on_header(beast::error_code ec) {
  idle_ = false;
  if (ec) {
    if (ec == bhttp::error::header_limit)
      return fail_request(make_error(codes::request_header_too_large, "Request header too large",
                                     {{"limit", app_.cfg().max_header_bytes}}));
    // Bytes that are not an HTTP request get an answer saying so (a client
    // that went away mid-request gets none: no one would read it).
    if (ec.category() == bhttp::make_error_code(bhttp::error::bad_method).category() &&
        ec != bhttp::error::end_of_stream && ec != bhttp::error::partial_message)
      return fail_request(
          make_error(codes::validation_failed, "Malformed HTTP request: " + ec.message(), {}));
    if (!is_benign(ec) && ec != bhttp::error::partial_message)
      log::debug("connection read failed", {{"error", ec.message()}});
    return close();
  }
  started_ = std::chrono::steady_clock::now();
  in_request_ = true;
  app_.request_started();
  bytes_out_ = 0;

  const auto& h = header_parser_->get();
  req_ = request{};
  req_.verb = to_method(h.method());
  head_request_ = req_.verb == method::head;
  req_.target = std::string(h.target());
  auto q = req_.target.find('?');
  req_.path = req_.target.substr(0, q);
  if (q != std::string::npos) req_.query = req_.target.substr(q + 1);
  for (const auto& field : h) req_.headers.emplace_back(field.name_string(), field.value());
  // The trace id only ever reaches the access log.
  const bool logged = log::enabled(log::level::info);
  if (auto t = req_.header("X-Trace-Id"); t && !t->empty() && t->size() <= 128)
    req_.trace_id = std::string(*t);
  else if (logged)
    req_.trace_id = random_hex(8);
  req_.remote_address = remote_address_;
  keep_alive_ = h.keep_alive();
  if (logged) {
    // The request moves into its handler; keep what the access log needs.
    log_method_ = std::string(h.method_string());
    log_path_ = req_.path;
    log_trace_id_ = req_.trace_id;
  }

  auto match = match_route(route_table(), req_.verb, req_.path);
  route_ = match.found;
  req_.params = std::move(match.params);

  if (route_ && route_->takeover) {
    // The proxy reads the body itself, streaming it to the target.
    auto conn = std::make_unique<connection_handoff>(
        connection_handoff{std::move(stream_), std::move(buffer_), std::move(header_parser_),
                           started_, req_.trace_id, std::move(socket_)});
    closed_ = true;
    in_request_ = false;
    app_.request_finished();
    route_->takeover(app_, std::move(req_), std::move(conn));
    return;
  }

  if (auto len = header_parser_->content_length(); len && *len > app_.cfg().max_body_bytes)
    return fail_request(make_error(codes::payload_too_large,
                                   "Request body too large: " + std::to_string(*len) +
                                       " bytes (max: " + std::to_string(app_.cfg().max_body_bytes) +
                                       ")",
                                   {{"limit", app_.cfg().max_body_bytes}}));

  if (header_parser_->is_done()) {
    // No body (a GET, or Content-Length: 0): nothing more to read.
    reading_ = false;
    header_parser_.reset();
    return dispatch();
  }
  body_parser_.emplace(std::move(*header_parser_));
  header_parser_.reset();
  body_parser_->body_limit(app_.cfg().max_body_bytes);
  if (auto len = body_parser_->content_length()) reserve_large(body_parser_->get().body(), *len);
  // Large bodies are read in large pieces; flat_buffer only reads into spare capacity.
  buffer_.reserve(64 * 1024);
  auto read_body = [self = shared_from_this()] {
    bhttp::async_read(self->stream_, self->buffer_, *self->body_parser_,
                      [self](beast::error_code e, std::size_t) { self->on_body(e); });
  };
  if (auto expect = req_.header("Expect"); expect && *expect == "100-continue") {
    // Clients such as curl wait for this before sending a large body.
    static const std::string k_continue = "HTTP/1.1 100 Continue\r\n\r\n";
    net::async_write(stream_, net::buffer(k_continue),
                     [read_body](beast::error_code ec, std::size_t) {
                       if (!ec) read_body();
                     });
    return;
  }
  read_body();
}

void connection::on_body(beast::error_code ec) {
  if (ec == bhttp::error::body_limit)
    return fail_request(make_error(
        codes::payload_too_large,
        "Request body too large (max: " + std::to_string(app_.cfg().max_body_bytes) + " bytes)",
        {{"limit", app_.cfg().max_body_bytes}}));
  if (ec) return close();
  req_.body = std::move(body_parser_->get().body());
  body_parser_.reset();
  // A handler may take as long as its command does.
  reading_ = false;
  dispatch();
}

void connection::dispatch() {
  auto self = shared_from_this();
  if (!route_) {
    if (req_.verb == method::options) return on_response(response::empty(204));
    return on_response(response::error(not_found_error()));
  }
  // A handler that answers at once, on this thread, is answered without a hop.
  responder done([self](response res) {
    net::dispatch(self->stream_.get_executor(),
                  [self, res = std::move(res)]() mutable { self->on_response(std::move(res)); });
  });
  try {
    route_->handler(app_, std::move(req_), done);
  } catch (const std::exception& e) {
    done(make_error(codes::internal_error, e.what()));
  }
}

void connection::on_response(response res) {
  if (closed_) return;
  status_ = res.status;
  if (res.stream) return start_stream(std::move(res));
  write_response(std::move(res), false);
}

void connection::write_response(response res, bool force_close) {
  if (force_close || shutdown_requested_) keep_alive_ = false;
  out_head_ = response_head(res, keep_alive_);
  out_body_.clear();
  if (status_has_body(res.status) && !head_request_) {
    // A small body shares the head's buffer; a large one is written where it is.
    if (res.body.size() <= k_inline_bytes)
      out_head_ += res.body;
    else
      out_body_ = std::move(res.body);
  }
  std::array<net::const_buffer, 2> buffers{net::buffer(out_head_), net::buffer(out_body_)};
  net::async_write(stream_, buffers,
                   [self = shared_from_this()](beast::error_code ec, std::size_t bytes) {
                     self->on_written(ec, bytes);
                   });
}

void connection::on_written(beast::error_code ec, std::size_t bytes) {
  out_head_.clear();
  out_body_ = std::string();
  bytes_out_ += bytes;
  finish_exchange();
  if (ec || !keep_alive_) return close();
  do_read();
}

void connection::fail_request(const api_error& e) {
  // The rest of the request is not read, so the connection cannot be reused.
  if (!in_request_) {
    started_ = std::chrono::steady_clock::now();
    in_request_ = true;
    app_.request_started();
  }
  status_ = static_cast<unsigned>(e.http_status());
  write_response(response::error(e), true);
}

void connection::finish_exchange() {
  if (!in_request_) return;
  in_request_ = false;
  if (!route_ || route_->logged)
    log_request(log_method_, log_path_, status_, bytes_out_, started_, log_trace_id_);
  app_.request_finished();
}

void connection::close() {
  if (closed_) return;
  closed_ = true;
  idle_timer_.cancel();
  keepalive_.cancel();
  if (channel_) channel_->cancel();
  beast::error_code ec;
  stream_.socket().shutdown(net::ip::tcp::socket::shutdown_send, ec);
  stream_.close();
  finish_exchange();
}

// --- Server-Sent Events ---------------------------------------------------

void connection::start_stream(response res) {
  channel_ = std::move(res.stream);
  stream_done_ = stream_end_ = stream_writing_ = stream_pulling_ = false;
  res.headers.insert(res.headers.begin(),
                     {{"Cache-Control", "no-cache"}, {"Connection", "keep-alive"}});
  stream_pending_.clear();
  stream_pending_.push_back(response_head(res, true, body_framing::chunked));
  stream_head_held_ = true;
  watch_disconnect();
  arm_keepalive(k_head_hold);
  stream_pull();
}

void connection::stream_pull() {
  if (stream_pulling_ || stream_end_ || closed_) return;
  stream_pulling_ = true;
  channel_->pull([weak = weak_from_this()](sse_channel::frame_list frames, bool end) {
    auto self = weak.lock();
    if (!self) return;
    net::post(self->stream_.get_executor(), [self, frames = std::move(frames), end]() mutable {
      self->on_frames(std::move(frames), end);
    });
  });
}

void connection::on_frames(std::vector<std::string> frames, bool end) {
  stream_pulling_ = false;
  if (closed_) return;
  // What the producer queued since the hand-off goes in the same write.
  if (!end) channel_->take_queued(frames, end);
  stream_head_held_ = false;
  for (auto& f : frames) append_chunk(stream_pending_, std::move(f));
  if (end) {
    stream_pending_.emplace_back("0\r\n\r\n");
    stream_end_ = true;
  }
  stream_flush();
}

void connection::stream_flush() {
  if (closed_ || stream_writing_ || stream_head_held_) return;
  if (stream_pending_.empty()) {
    if (stream_end_) return;
    return stream_pull();
  }
  stream_writing_ = true;
  stream_out_ = std::move(stream_pending_);
  stream_pending_.clear();
  stream_buffers_.clear();
  for (const auto& piece : stream_out_) stream_buffers_.emplace_back(piece.data(), piece.size());
  net::async_write(stream_, stream_buffers_,
                   [self = shared_from_this()](beast::error_code ec, std::size_t bytes) {
                     self->on_stream_written(ec, bytes);
                   });
}

void connection::on_stream_written(beast::error_code ec, std::size_t bytes) {
  stream_writing_ = false;
  bytes_out_ += bytes;
  last_write_ = std::chrono::steady_clock::now();
  if (ec) return close();
  if (stream_end_ && stream_pending_.empty()) {
    stream_done_ = true;
    keepalive_.cancel();
    channel_.reset();
    if (!keep_alive_ || shutdown_requested_) {
      finish_exchange();
      return close();
    }
    finish_exchange();
    // The disconnect watcher holds the read side; stop it, then read the next request.
    if (stream_watching_) {
      stream_.socket().cancel();
      return;
    }
    return do_read();
  }
  stream_flush();
}

void connection::watch_disconnect() {
  // A read while streaming only tells us the client went away; any bytes that
  // do arrive (a pipelined request) stay in buffer_ for the next read.
  stream_watching_ = true;
  stream_.async_read_some(buffer_.prepare(4096),
                          [self = shared_from_this()](beast::error_code ec, std::size_t n) {
                            self->stream_watching_ = false;
                            self->buffer_.commit(n);
                            if (self->stream_done_) {
                              if (!self->closed_) self->do_read();
                              return;
                            }
                            if (ec) return self->close();
                            if (self->buffer_.size() > 64 * 1024) return self->close();
                            self->watch_disconnect();
                          });
}

void connection::arm_keepalive(std::chrono::steady_clock::duration after) {
  keepalive_.expires_after(after);
  keepalive_.async_wait([weak = weak_from_this()](beast::error_code ec) {
    auto self = weak.lock();
    if (!self || ec || self->closed_ || self->stream_done_) return;
    if (self->stream_head_held_) {
      self->stream_head_held_ = false;
      self->stream_flush();
      return self->arm_keepalive(k_keepalive_interval - k_head_hold);
    }
    auto quiet = std::chrono::steady_clock::now() - self->last_write_;
    if (!self->stream_writing_ && self->stream_pending_.empty() && quiet >= k_keepalive_interval) {
      append_chunk(self->stream_pending_, ": keepalive\n\n");
      self->stream_flush();
    }
    self->arm_keepalive(k_keepalive_interval);
  });
}

// --- hand-off ----------------------------------------------------------------

void start_connection(app& a, net::ip::tcp::socket socket) {
  beast::error_code ec;
  socket.set_option(net::ip::tcp::no_delay(true), ec);
  std::make_shared<connection>(a, beast::tcp_stream(std::move(socket)), beast::flat_buffer{})
      ->start();
}

void resume_session(app& a, std::unique_ptr<connection_handoff> conn) {
  std::make_shared<connection>(a, std::move(conn->stream), std::move(conn->buffer))->start();
}

void finish_handoff(app& a, std::unique_ptr<connection_handoff> conn, response res) {
  (void)a;
  struct reply {
    std::string head, body;
    unsigned status;
  };
  auto out = std::make_shared<reply>();
  out->head = response_head(res, false);
  if (status_has_body(res.status) && conn->parser->get().method() != bhttp::verb::head)
    out->body = std::move(res.body);
  out->status = res.status;
  std::array<net::const_buffer, 2> buffers{net::buffer(out->head), net::buffer(out->body)};
  auto* stream = &conn->stream;
  auto method = std::string(conn->parser->get().method_string());
  auto target = std::string(conn->parser->get().target());
  net::async_write(
      *stream, buffers,
      [out, conn = std::move(conn), method, target](beast::error_code, std::size_t bytes) {
        log_request(method, target.substr(0, target.find('?')), out->status, bytes, conn->started,
                    conn->trace_id);
        beast::error_code ec;
        conn->stream.socket().shutdown(net::ip::tcp::socket::shutdown_send, ec);
        conn->stream.close();
      });
}

}  // namespace sbx::http
