#pragma once
// One request through /proxy/{port}: connects to the target, streams the
// request body up and the response body down through bounded buffers (both at
// once, so a target that answers while still reading cannot deadlock us), then
// hands the client connection back for its next request, or tunnels it after
// a 101.
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/parser.hpp>

#include "core/error.hpp"
#include "ports/proxy_headers.hpp"
#include "server/handoff.hpp"

namespace sbx {
class app;
}

namespace sbx::ports {

class proxy_exchange : public std::enable_shared_from_this<proxy_exchange> {
 public:
  proxy_exchange(app& a, http::request req, std::unique_ptr<http::connection_handoff> conn);

  // Forwards the request to `target` (path and query) on 127.0.0.1:<port>,
  // or [::1]:<port> when nothing listens on the IPv4 loopback.
  void forward(int port, std::string target);
  // Answers with `error` without contacting a target.
  void reject(const api_error& error);

 private:
  using request_body_parser = boost::beast::http::request_parser<boost::beast::http::buffer_body>;
  using response_parser = boost::beast::http::response_parser<boost::beast::http::buffer_body>;

  void connect(bool ipv6);
  void on_connect(boost::beast::error_code ec, bool ipv6);
  void send_request_head();
  void on_request_head_written(boost::beast::error_code ec);
  void reconnect();

  // Client -> target.
  void pump_request();
  void on_request_piece(boost::beast::error_code ec);
  void on_request_piece_written(boost::beast::error_code ec, bool last);

  // Target -> client.
  void read_response_head();
  void on_response_head(boost::beast::error_code ec);
  void on_response_head_written();
  void pump_response();
  void on_response_piece(boost::beast::error_code ec);
  void on_response_piece_written(boost::beast::error_code ec, std::size_t bytes, bool last);
  void start_tunnel();

  // Notices a client that goes away while the target has not finished answering.
  void watch_client();
  // Runs `next` once the client socket has no read pending.
  void after_watch(std::function<void()> next);

  void respond_error(const api_error& error);
  void fail_upstream(const std::string& reason);
  void finish();
  void abort();
  void park_upstream();
  void close_upstream();
  void close_client();
  void hand_back_client();
  void log_once();

  app& app_;
  http::request req_;
  std::unique_ptr<http::connection_handoff> conn_;
  std::string method_;
  int port_ = 0;
  std::string target_;
  bool client_keep_alive_ = false;
  bool client_http11_ = true;
  std::string upgrade_;  // the protocol the client asked to switch to

  boost::beast::tcp_stream upstream_;
  http::socket_budget::lease upstream_socket_;  // upstream_'s place in the socket budget
  boost::beast::flat_buffer upstream_buffer_;
  std::string connect_error_;
  std::optional<request_body_parser> request_body_;
  std::optional<response_parser> response_;
  body_framing request_framing_;
  body_framing response_framing_;
  std::unique_ptr<char[]> up_piece_;
  std::unique_ptr<char[]> down_piece_;
  std::string up_head_, up_chunk_line_;
  std::string down_head_, down_chunk_line_;

  bool request_done_ = false;    // the whole request body was read from the client
  bool reused_ = false;          // upstream_ came from the pool and has not answered yet
  bool ipv6_ = false;            // upstream_ is connected over ::1
  bool request_failed_ = false;  // the target stopped taking the request body
  bool head_sent_ = false;
  bool finished_ = false;
  bool watching_ = false;
  bool client_done_sending_ = false;  // the client shut down its side after the request
  bool logged_ = false;
  std::function<void()> after_watch_;
  unsigned status_ = 0;
  std::chrono::steady_clock::time_point started_;
  std::uint64_t bytes_out_ = 0;
};

}  // namespace sbx::ports
