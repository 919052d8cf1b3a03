#pragma once
// The status line and header block of a plain (non-streaming) response,
// written by hand: one string per response instead of a field container.
#include <string>

#include "server/http_types.hpp"

namespace sbx::http {

// Whether a response with this status carries a body (RFC 9110 §6.4.1).
bool status_has_body(unsigned status);

// "HTTP/1.1 <status> <reason>", Content-Type, the CORS headers, the
// response's own headers, the framing of a body (Content-Length of res.body,
// or "Transfer-Encoding: chunked" for a body sent in chunks after the head)
// and "Connection: close" when the connection ends after it, then the blank
// line.
enum class body_framing { length, chunked };
std::string response_head(const response& res, bool keep_alive,
                          body_framing framing = body_framing::length);

}  // namespace sbx::http
