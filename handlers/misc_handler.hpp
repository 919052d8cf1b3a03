#pragma once
// misc routes: JSON in, service call, JSON out.
#include "server/http_types.hpp"

namespace sbx {
class app;
}

namespace sbx::handlers {

void root(app& a, http::request req, http::responder done);
void ping(app& a, http::request req, http::responder done);
void commands(app& a, http::request req, http::responder done);
void version(app& a, http::request req, http::responder done);

}  // namespace sbx::handlers
