#include "server/response_head.hpp"

#include <charconv>

#include <boost/beast/http/status.hpp>

#include "server/render.hpp"

namespace sbx::http {

bool status_has_body(unsigned status) {
  return status >= 200 && status != 204 && status != 304;
}

std::string response_head(const response& res, bool keep_alive, body_framing framing) {
  namespace bhttp = boost::beast::http;
  std::string head;
  head.reserve(256);
  char num[24];
  auto [end, ec] = std::to_chars(num, num + sizeof num, res.status);
  (void)ec;
  head.append("HTTP/1.1 ").append(num, end).push_back(' ');
  head.append(bhttp::obsolete_reason(static_cast<bhttp::status>(res.status))).append("\r\n");
  auto field = [&head](std::string_view name, std::string_view value) {
    head.append(name).append(": ").append(value).append("\r\n");
  };
  if (!res.content_type.empty()) field("Content-Type", res.content_type);
  for (const auto& [k, v] : k_cors_headers) field(k, v);
  for (const auto& [k, v] : res.headers) field(k, v);
  if (framing == body_framing::chunked) {
    field("Transfer-Encoding", "chunked");
  } else if (status_has_body(res.status)) {
    end = std::to_chars(num, num + sizeof num, res.body.size()).ptr;
    field("Content-Length", std::string_view(num, static_cast<std::size_t>(end - num)));
  }
  if (!keep_alive) field("Connection", "close");
  head.append("\r\n");
  return head;
}

}  // namespace sbx::http
