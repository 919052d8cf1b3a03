#pragma once
// session routes: JSON in, service call, JSON out.
#include "server/http_types.hpp"

namespace sbx {
class app;
}

namespace sbx::handlers {

void session_create(app& a, http::request req, http::responder done);
void session_list(app& a, http::request req, http::responder done);
void session_delete(app& a, http::request req, http::responder done);

}  // namespace sbx::handlers
