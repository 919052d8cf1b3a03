#pragma once
// A connection taken over by a route that needs the raw socket (the proxy):
// the request header has been parsed, the body is still on the wire.
#include <chrono>
#include <memory>
#include <string>

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/parser.hpp>

#include "server/http_types.hpp"
#include "server/socket_budget.hpp"

namespace sbx {
class app;
}

namespace sbx::http {

struct connection_handoff {
  boost::beast::tcp_stream stream;
  boost::beast::flat_buffer buffer;
  // Parsers cannot move; the connection hands over its heap-allocated one.
  std::unique_ptr<boost::beast::http::request_parser<boost::beast::http::empty_body>> parser;
  std::chrono::steady_clock::time_point started;
  std::string trace_id;
  socket_budget::lease socket;  // the client socket's place in the budget
};

// Writes `res` (with CORS headers) and closes the connection.
void finish_handoff(app& a, std::unique_ptr<connection_handoff> conn, response res);

// Serves further requests on the connection (keep-alive after a proxied exchange).
void resume_session(app& a, std::unique_ptr<connection_handoff> conn);

// Logs one finished request the way the transport does.
void log_request(std::string_view method, std::string_view path, unsigned status,
                 std::uint64_t bytes, std::chrono::steady_clock::time_point started,
                 std::string_view trace_id);

}  // namespace sbx::http
