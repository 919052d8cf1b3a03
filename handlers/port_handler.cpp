#include "handlers/port_handler.hpp"

#include <algorithm>
#include <cmath>

#include "app/app.hpp"
#include "core/clock.hpp"
#include "handlers/request_body.hpp"
#include "ports/port_registry.hpp"
#include "ports/port_rules.hpp"

namespace sbx::handlers {
namespace {

std::string local_url(int port) {
  return "http://localhost:" + std::to_string(port);
}

// The body's `port` as an integer, or the 400 the contract gives for a value
// that is not one (strings such as "8080" included, §8.1).
result<std::int64_t> requested_port(const nlohmann::json& body) {
  auto it = body.find("port");
  const nlohmann::json port = it == body.end() ? nlohmann::json() : *it;
  if (port.is_number_integer()) return port.get<std::int64_t>();
  if (port.is_number_float()) {
    // JSON 8080.0 is the integer 8080 to a JavaScript client; anything far out of
    // range only needs to stay out of range.
    double d = port.get<double>();
    if (std::isfinite(d) && std::trunc(d) == d)
      return static_cast<std::int64_t>(std::clamp(d, -1.0, 1e6));
  }
  std::string shown = port.is_null()     ? "undefined"
                      : port.is_string() ? port.get<std::string>()
                                         : port.dump();
  return ports::invalid_port_error(shown, port, "Port must be an integer");
}

}  // namespace

void port_expose(app& a, http::request req, http::responder done) {
  auto body = parse_body(req);
  if (!body) return done(body.error());
  auto port = requested_port(*body);
  if (!port) return done(port.error());
  std::optional<std::string> name;
  if (auto it = body->find("name"); it != body->end() && it->is_string() && !it->empty())
    name = it->get<std::string>();

  auto exposed = a.ports().expose(*port, std::move(name), a.bound_port());
  if (!exposed) return done(exposed.error());
  done(http::response::json(success({{"port", exposed->port}, {"url", local_url(exposed->port)}})));
}

void port_list(app& a, http::request, http::responder done) {
  auto ports = nlohmann::json::array();
  for (const auto& p : a.ports().list()) {
    nlohmann::json entry{{"port", p.port}, {"url", local_url(p.port)}, {"status", p.status}};
    if (p.name) entry["name"] = *p.name;
    entry["exposedAt"] = iso_timestamp(p.exposed_at);
    ports.push_back(std::move(entry));
  }
  done(http::response::json(success({{"ports", std::move(ports)}})));
}

void port_unexpose(app& a, http::request req, http::responder done) {
  // A segment that is not a port is a 400, not the reference's 500 (§8.2).
  auto port = ports::parse_port_segment(req.params.at(0));
  if (!port) return done(port.error());
  if (auto removed = a.ports().unexpose(*port); !removed) return done(removed.error());
  done(http::response::json(success({{"port", *port}})));
}

}  // namespace sbx::handlers
