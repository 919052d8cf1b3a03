#pragma once
// port routes: JSON in, service call, JSON out.
#include "server/http_types.hpp"

namespace sbx {
class app;
}

namespace sbx::handlers {

void port_expose(app& a, http::request req, http::responder done);
void port_list(app& a, http::request req, http::responder done);
void port_unexpose(app& a, http::request req, http::responder done);

// /proxy/{port}/...: takes the connection over (ports/proxy.cpp).
}  // namespace sbx::handlers
