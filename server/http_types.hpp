#pragma once
// Transport-neutral request and response types: what handlers see. No Beast here.
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/error.hpp"

namespace sbx::http {

class sse_channel;

enum class method { get, post, put, del, head, patch, options, other };

std::string_view method_name(method m);

struct request {
  method verb = method::other;
  std::string target;  // as received: path + query
  std::string path;    // raw (undecoded) path
  std::string query;   // without '?'
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::vector<std::string> params;  // route {param} segments, percent-decoded
  std::string trace_id;
  std::string remote_address;

  // Case-insensitive header lookup (first occurrence).
  std::optional<std::string_view> header(std::string_view name) const;
  // Decoded query parameter (first occurrence).
  std::optional<std::string> query_param(std::string_view name) const;
};

struct response {
  unsigned status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  // When set, the body is a Server-Sent Events stream fed by this channel.
  std::shared_ptr<sse_channel> stream;

  static response json(const nlohmann::json& body, unsigned status = 200);
  static response text(std::string body, std::string content_type, unsigned status = 200);
  static response error(const api_error& e);
  static response sse(std::shared_ptr<sse_channel> channel);
  // A 204 with no body.
  static response empty(unsigned status = 204);
};

// JSON serialisation used for every body and event: invalid UTF-8 becomes U+FFFD.
std::string dump_json(const nlohmann::json& j);

// One-shot completion for a request. Copyable handle; the first call wins.
// If every copy is dropped without a call, the request gets a 500.
class responder {
 public:
  using sink = std::function<void(response)>;
  explicit responder(sink s);
  void operator()(response r) const;
  void operator()(const api_error& e) const { (*this)(response::error(e)); }

 private:
  struct state;
  std::shared_ptr<state> state_;
};

}  // namespace sbx::http
