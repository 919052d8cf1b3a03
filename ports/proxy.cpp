#include "ports/proxy.hpp"

#include "server/handoff.hpp"

namespace sbx::ports {

void proxy_takeover(app& a, http::request req, std::unique_ptr<http::connection_handoff> conn) {
  http::finish_handoff(a, std::move(conn),
                       http::response::error(make_error(
                           codes::not_implemented, "Proxy is not implemented yet", {{"path", req.path}})));
}

}  // namespace sbx::ports
