#pragma once
// execute routes: JSON in, service call, JSON out.
#include "server/http_types.hpp"

namespace sbx {
class app;
}

namespace sbx::handlers {

void execute(app& a, http::request req, http::responder done);
void execute_stream(app& a, http::request req, http::responder done);

}  // namespace sbx::handlers
