#include "server/render.hpp"

#include "core/clock.hpp"

namespace sbx::http {

nlohmann::json render_error(const api_error& e) {
  nlohmann::json body = nlohmann::json::object();
  body["code"] = e.code;
  body["message"] = e.message;
  body["context"] = e.context.is_object() ? e.context : nlohmann::json::object();
  if (auto op = body["context"].find("operation"); op != body["context"].end() && op->is_string())
    body["operation"] = *op;
  body["httpStatus"] = e.http_status();
  body["timestamp"] = iso_now();
  if (auto s = suggestion_for(e.code, body["context"])) body["suggestion"] = *s;
  if (e.extra.is_object())
    for (auto it = e.extra.begin(); it != e.extra.end(); ++it) body[it.key()] = it.value();
  return body;
}

}  // namespace sbx::http
