#pragma once
// git routes: JSON in, service call, JSON out.
#include "server/http_types.hpp"

namespace sbx {
class app;
}

namespace sbx::handlers {

void git_checkout(app& a, http::request req, http::responder done);

}  // namespace sbx::handlers
