#pragma once
// Header rewriting for /proxy/{port} (RFC 9110 §7.6): what a proxy forwards,
// what it adds, and the request/response heads it writes. No I/O, no Beast.
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sbx::ports {

using header_list = std::vector<std::pair<std::string, std::string>>;

// How a message body is delimited on the wire.
struct body_framing {
  enum class kind {
    none,         // no body and no length header
    length_only,  // Content-Length announced but no body follows (HEAD, 304)
    length,       // Content-Length bytes follow
    chunked,      // Transfer-Encoding: chunked
    until_close,  // the body ends when the connection closes (HTTP/1.0 clients)
  };
  kind how = kind::none;
  std::uint64_t length = 0;
};

// `headers` without hop-by-hop fields (Connection, Keep-Alive, Proxy-*, TE,
// Trailer, Transfer-Encoding, Upgrade, the fields Connection names) and without
// Content-Length, which the proxy re-announces from its own framing.
header_list end_to_end_headers(const header_list& headers);

struct upstream_request {
  std::string_view method;
  std::string_view target;  // path and query on the target
  const header_list& headers;
  std::string_view client_address;  // appended to X-Forwarded-For
  int port = 0;
  body_framing body;
  // A protocol upgrade (WebSocket): Connection/Upgrade are forwarded instead
  // of asking the target to close after the response.
  std::string_view upgrade;
};

// "GET /x HTTP/1.1\r\n...\r\n\r\n" for the target. Host becomes the target's;
// the original goes to X-Forwarded-Host unless a proxy before us set it.
std::string upstream_request_head(const upstream_request& r);

struct client_response {
  unsigned status = 200;
  std::string_view reason;
  const header_list& headers;
  body_framing body;
  bool keep_alive = true;
  std::string_view upgrade;  // set on a 101: the protocol switched to
};

// "HTTP/1.1 200 OK\r\n...\r\n\r\n" for the client: the target's end-to-end
// headers (repeats such as Set-Cookie kept), then the CORS headers unless
// the target already sent the same value, then framing.
std::string client_response_head(const client_response& r);

// Chunked transfer coding: the size line of a chunk of `size` bytes.
std::string chunk_size_line(std::size_t size);
inline constexpr std::string_view k_chunk_end = "\r\n";
inline constexpr std::string_view k_last_chunk = "0\r\n\r\n";

}  // namespace sbx::ports
