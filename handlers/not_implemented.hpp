#pragma once
#include "server/http_types.hpp"

namespace sbx::handlers {

// 501 for a route whose capability is not built yet.
void not_implemented(const http::request& req, const http::responder& done);

}  // namespace sbx::handlers
