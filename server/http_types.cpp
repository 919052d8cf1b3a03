#include "server/http_types.hpp"

#include <strings.h>
#include <atomic>

#include "core/clock.hpp"
#include "server/render.hpp"
#include "server/sse.hpp"
#include "server/url.hpp"

namespace sbx::http {

std::string_view method_name(method m) {
  switch (m) {
    case method::get:
      return "GET";
    case method::post:
      return "POST";
    case method::put:
      return "PUT";
    case method::del:
      return "DELETE";
    case method::head:
      return "HEAD";
    case method::patch:
      return "PATCH";
    case method::options:
      return "OPTIONS";
    case method::other:
      return "OTHER";
  }
  return "OTHER";
}

std::optional<std::string_view> request::header(std::string_view name) const {
  for (const auto& [k, v] : headers)
    if (k.size() == name.size() && strncasecmp(k.data(), name.data(), k.size()) == 0) return v;
  return std::nullopt;
}

std::optional<std::string> request::query_param(std::string_view name) const {
  std::string_view q = query;
  while (!q.empty()) {
    auto amp = q.find('&');
    std::string_view pair = q.substr(0, amp);
    auto eq = pair.find('=');
    std::string key = percent_decode(pair.substr(0, eq), true);
    if (key == name)
      return eq == std::string_view::npos ? std::string()
                                          : percent_decode(pair.substr(eq + 1), true);
    if (amp == std::string_view::npos) break;
    q.remove_prefix(amp + 1);
  }
  return std::nullopt;
}

std::string dump_json(const nlohmann::json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

response response::json(const nlohmann::json& body, unsigned status) {
  response r;
  r.status = status;
  r.body = dump_json(body);
  return r;
}

response response::text(std::string body, std::string content_type, unsigned status) {
  response r;
  r.status = status;
  r.content_type = std::move(content_type);
  r.body = std::move(body);
  return r;
}

response response::error(const api_error& e) {
  return json(render_error(e), static_cast<unsigned>(e.http_status()));
}

response response::sse(std::shared_ptr<sse_channel> channel) {
  response r;
  r.content_type = "text/event-stream";
  r.stream = std::move(channel);
  return r;
}

response response::empty(unsigned status) {
  response r;
  r.status = status;
  r.content_type.clear();
  return r;
}

struct responder::state {
  sink fn;
  std::atomic<bool> done{false};
  ~state() {
    if (!done.exchange(true) && fn)
      fn(response::error(
          make_error(codes::internal_error, "Request was dropped without a response")));
  }
};

responder::responder(sink s) : state_(std::make_shared<state>()) {
  state_->fn = std::move(s);
}

void responder::operator()(response r) const {
  if (state_->done.exchange(true)) return;
  auto fn = std::move(state_->fn);
  state_->fn = nullptr;
  fn(std::move(r));
}

}  // namespace sbx::http
