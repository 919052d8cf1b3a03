#include "ports/proxy.hpp"

#include "app/app.hpp"
#include "ports/port_registry.hpp"
#include "ports/port_rules.hpp"
#include "ports/proxy_exchange.hpp"
#include "server/handoff.hpp"

namespace sbx::ports {
namespace {

// /proxy/<port>/a/b?q -> /a/b?q ; /proxy/<port> -> / (path left undecoded).
std::string target_of(const http::request& req) {
  constexpr std::string_view k_prefix = "/proxy/";
  auto rest = std::string_view(req.path).substr(k_prefix.size());
  auto slash = rest.find('/');
  std::string target = slash == std::string_view::npos ? "/" : std::string(rest.substr(slash));
  if (req.target.find('?') != std::string::npos) target += "?" + req.query;
  return target;
}

api_error not_exposed_error(int port) {
  // The contract's body ({error, message, port}) plus the standard fields, so
  // clients that read `code` get one too.
  auto e = make_error(codes::port_not_exposed, "Port " + std::to_string(port) + " is not exposed",
                      {{"port", port}});
  e.extra = {{"error", "Port not found"}, {"port", port}};
  return e;
}

}  // namespace

void proxy_takeover(app& a, http::request req, std::unique_ptr<http::connection_handoff> conn) {
  auto segment = req.params.at(0);
  auto target = target_of(req);
  auto exchange = std::make_shared<proxy_exchange>(a, std::move(req), std::move(conn));
  auto port = parse_port_segment(segment);
  if (!port) return exchange->reject(port.error());
  if (!a.ports().is_exposed(*port)) return exchange->reject(not_exposed_error(*port));
  exchange->forward(*port, std::move(target));
}

}  // namespace sbx::ports
