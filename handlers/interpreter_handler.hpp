#pragma once
// interpreter routes: JSON in, service call, JSON out.
#include "server/http_types.hpp"

namespace sbx {
class app;
}

namespace sbx::handlers {

void interpreter_health(app& a, http::request req, http::responder done);
void context_create(app& a, http::request req, http::responder done);
void context_list(app& a, http::request req, http::responder done);
void context_delete(app& a, http::request req, http::responder done);
void execute_code(app& a, http::request req, http::responder done);

}  // namespace sbx::handlers
