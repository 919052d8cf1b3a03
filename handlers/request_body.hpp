#pragma once
// JSON request bodies: parsing and typed field access. Every problem becomes a
// 400 VALIDATION_FAILED naming the field, never an exception.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "core/result.hpp"
#include "server/http_types.hpp"

namespace sbx::handlers {

// The body as a JSON object; empty, malformed or non-object bodies are errors.
result<nlohmann::json> parse_body(const http::request& req);
// The error parse_body gives for a body that is not usable JSON.
api_error body_parse_error(std::string why);

// Reads fields of a body object; remembers the first problem.
class fields {
 public:
  explicit fields(const nlohmann::json& obj) : obj_(obj) {}

  std::optional<std::string> str(std::string_view name);
  std::string required_str(std::string_view name);
  std::optional<bool> boolean(std::string_view name);
  std::optional<std::int64_t> integer(std::string_view name);
  // A duration in milliseconds: a non-negative whole number; a century or
  // more reads as a century (a deadline past that would overflow the clock).
  std::optional<std::uint64_t> milliseconds(std::string_view name);
  std::optional<std::map<std::string, std::string>> string_map(std::string_view name);
  // The raw value, or nullptr when absent or null.
  const nlohmann::json* raw(std::string_view name) const;

  bool ok() const { return !error_.has_value(); }
  const api_error& error() const { return *error_; }

 private:
  void fail(std::string_view name, std::string problem);
  const nlohmann::json& obj_;
  std::optional<api_error> error_;
};

// Session named by a request (API.md §1.4): body id, then (if allowed) the
// request context (Bearer token, X-Session-Id, ?session=, ?sessionId=), then "default".
std::string resolve_session_id(const http::request& req, const std::optional<std::string>& body_id,
                               bool use_request_context);

// {"success": true, "timestamp": ...} plus the given fields.
nlohmann::json success(nlohmann::json fields = nlohmann::json::object());

}  // namespace sbx::handlers
