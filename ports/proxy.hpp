#pragma once
// /proxy/{port}/...: forwards HTTP and WebSocket traffic to an exposed port.
#include <memory>

#include "server/http_types.hpp"

namespace sbx {
class app;
}
namespace sbx::http {
struct connection_handoff;
}

namespace sbx::ports {

void proxy_takeover(app& a, http::request req, std::unique_ptr<http::connection_handoff> conn);

}  // namespace sbx::ports
