#include "handlers/request_body.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>

#include "core/clock.hpp"
#include "core/json_text.hpp"

namespace sbx::handlers {

api_error body_parse_error(std::string why) {
  return make_error(
      codes::validation_failed, "Failed to parse request body: " + why,
      {{"validationErrors",
        nlohmann::json::array({{{"field", "body"}, {"message", why}, {"code", "INVALID_JSON"}}})}});
}

result<nlohmann::json> parse_body(const http::request& req) {
  auto parse_error = body_parse_error;
  if (req.body.find_first_not_of(" \t\r\n") == std::string::npos)
    return parse_error("request body is empty (expected a JSON object)");
  auto body = parse_json_lenient(req.body);
  if (body.is_discarded()) return parse_error("request body is not valid JSON");
  if (!body.is_object()) return parse_error("request body must be a JSON object");
  return body;
}

const nlohmann::json* fields::raw(std::string_view name) const {
  auto it = obj_.find(name);
  if (it == obj_.end() || it->is_null()) return nullptr;
  return &*it;
}

void fields::fail(std::string_view name, std::string problem) {
  if (!error_) error_ = field_error(name, std::move(problem));
}

std::optional<std::string> fields::str(std::string_view name) {
  const auto* v = raw(name);
  if (!v) return std::nullopt;
  if (!v->is_string()) {
    fail(name, "must be a string");
    return std::nullopt;
  }
  return v->get<std::string>();
}

std::string fields::required_str(std::string_view name) {
  if (!raw(name)) {
    fail(name, "is required");
    return {};
  }
  return str(name).value_or(std::string());
}

std::optional<bool> fields::boolean(std::string_view name) {
  const auto* v = raw(name);
  if (!v) return std::nullopt;
  if (!v->is_boolean()) {
    fail(name, "must be a boolean");
    return std::nullopt;
  }
  return v->get<bool>();
}

std::optional<std::int64_t> fields::integer(std::string_view name) {
  const auto* v = raw(name);
  if (!v) return std::nullopt;
  if (v->is_number_unsigned() && v->get<std::uint64_t>() > static_cast<std::uint64_t>(INT64_MAX)) {
    fail(name, "is out of range");
    return std::nullopt;
  }
  if (v->is_number_integer()) return v->get<std::int64_t>();
  if (v->is_number_float()) {
    double d = v->get<double>();
    if (d != std::trunc(d)) {
      fail(name, "must be an integer");
      return std::nullopt;
    }
    // Only whole numbers inside int64's range convert without overflow.
    if (std::fabs(d) < 9.2e18) return static_cast<std::int64_t>(d);
    fail(name, "is out of range");
    return std::nullopt;
  }
  fail(name, "must be an integer");
  return std::nullopt;
}

std::optional<std::uint64_t> fields::milliseconds(std::string_view name) {
  const auto* v = raw(name);
  if (!v) return std::nullopt;
  if (!v->is_number() ||
      (v->is_number_float() && v->get<double>() != std::trunc(v->get<double>()))) {
    fail(name, "must be a whole number of milliseconds");
    return std::nullopt;
  }
  if (v->get<double>() < 0) {
    fail(name, "must not be negative");
    return std::nullopt;
  }
  // Beyond a century a timer would overflow the clock: that long is forever.
  constexpr std::uint64_t k_century_ms = 100ULL * 366 * 24 * 3600 * 1000;
  if (v->is_number_float())
    return v->get<double>() >= static_cast<double>(k_century_ms)
               ? k_century_ms
               : static_cast<std::uint64_t>(v->get<double>());
  return std::min(v->get<std::uint64_t>(), k_century_ms);
}

std::optional<std::map<std::string, std::string>> fields::string_map(std::string_view name) {
  const auto* v = raw(name);
  if (!v) return std::nullopt;
  if (!v->is_object()) {
    fail(name, "must be an object of strings");
    return std::nullopt;
  }
  std::map<std::string, std::string> out;
  for (auto it = v->begin(); it != v->end(); ++it) {
    if (it->is_string()) {
      out[it.key()] = it->get<std::string>();
    } else if (it->is_number() || it->is_boolean()) {
      out[it.key()] = it->dump();
    } else if (!it->is_null()) {
      fail(name, "value of '" + it.key() + "' must be a string");
      return std::nullopt;
    }
  }
  return out;
}

std::string resolve_session_id(const http::request& req, const std::optional<std::string>& body_id,
                               bool use_request_context) {
  if (body_id && !body_id->empty()) return *body_id;
  if (use_request_context) {
    if (auto auth = req.header("Authorization");
        auth && auth->size() > 7 && auth->substr(0, 7) == "Bearer ")
      return std::string(auth->substr(7));
    if (auto h = req.header("X-Session-Id"); h && !h->empty()) return std::string(*h);
    if (auto q = req.query_param("session"); q && !q->empty()) return *q;
    if (auto q = req.query_param("sessionId"); q && !q->empty()) return *q;
  }
  return "default";
}

nlohmann::json success(nlohmann::json fields) {
  if (!fields.is_object()) fields = nlohmann::json::object();
  fields.emplace("success", true);  // a handler's own "success" wins
  fields["timestamp"] = iso_now();
  return fields;
}

}  // namespace sbx::handlers
