#pragma once
// One client connection: HTTP/1.1 with keep-alive, SSE streaming, and the
// hand-off of the raw socket to the proxy. Knows routes, not services.
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/buffer.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>

#include "server/http_types.hpp"
#include "server/router.hpp"
#include "server/socket_budget.hpp"

namespace sbx {
class app;
}

namespace sbx::http {

class connection : public std::enable_shared_from_this<connection> {
 public:
  connection(app& a, boost::beast::tcp_stream stream, boost::beast::flat_buffer buffer);
  ~connection();

  void start();
  // Daemon shutdown (any thread): close now if idle, else after the current response.
  void shutdown();

 private:
  using header_parser = boost::beast::http::request_parser<boost::beast::http::empty_body>;
  using body_parser = boost::beast::http::request_parser<boost::beast::http::string_body>;

  void do_read();
  void on_header(boost::beast::error_code ec);
  void on_body(boost::beast::error_code ec);
  void dispatch();
  void on_response(response res);
  void write_response(response res, bool force_close);
  void on_written(boost::beast::error_code ec, std::size_t bytes);
  void fail_request(const api_error& e);  // answers and closes (request not fully read)
  void finish_exchange();
  void close();
  void arm_idle_timer();

  // Server-Sent Events
  void start_stream(response res);  // res.stream set
  void stream_pull();
  void on_frames(std::vector<std::string> frames, bool end);
  void stream_flush();
  void on_stream_written(boost::beast::error_code ec, std::size_t bytes);
  void watch_disconnect();
  void arm_keepalive(std::chrono::steady_clock::duration after);

  app& app_;
  // The context the connection was placed on (its stream may be handed off).
  const boost::asio::execution_context& io_;
  boost::beast::tcp_stream stream_;
  boost::beast::flat_buffer buffer_;
  std::unique_ptr<header_parser> header_parser_;
  std::optional<body_parser> body_parser_;

  request req_;
  std::string remote_address_;
  std::string log_method_, log_path_, log_trace_id_;
  const route* route_ = nullptr;
  bool keep_alive_ = true;
  bool head_request_ = false;  // its response carries the length but no body
  bool in_request_ = false;
  bool idle_ = false;
  bool closed_ = false;
  bool shutdown_requested_ = false;
  std::chrono::steady_clock::time_point started_;
  unsigned status_ = 0;
  std::uint64_t bytes_out_ = 0;
  // The response being written: its head (with a small body inline) and a large body.
  std::string out_head_;
  std::string out_body_;
  // Reading a request must finish by read_deadline_. One timer per connection
  // checks it lazily, so a request costs no timer operation.
  std::chrono::steady_clock::time_point read_deadline_;
  bool reading_ = false;
  bool idle_timer_armed_ = false;
  boost::asio::steady_timer idle_timer_;

  std::shared_ptr<sse_channel> channel_;
  // Bytes waiting for the socket, and those being written now.
  std::vector<std::string> stream_pending_;
  std::vector<std::string> stream_out_;
  std::vector<boost::asio::const_buffer> stream_buffers_;
  bool stream_writing_ = false;
  bool stream_pulling_ = false;
  bool stream_end_ = false;
  bool stream_watching_ = false;
  bool stream_done_ = false;
  // The response head waits for the first events (or a short deadline), so
  // a quick stream leaves in one write instead of two.
  bool stream_head_held_ = false;
  std::chrono::steady_clock::time_point last_write_;
  boost::asio::steady_timer keepalive_;
  socket_budget::lease socket_;  // the client socket's place in the budget
};

void start_connection(app& a, boost::asio::ip::tcp::socket socket);

}  // namespace sbx::http
