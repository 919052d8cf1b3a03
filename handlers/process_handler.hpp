#pragma once
// process routes: JSON in, service call, JSON out.
#include "server/http_types.hpp"

namespace sbx {
class app;
}

namespace sbx::handlers {

void process_start(app& a, http::request req, http::responder done);
void process_list(app& a, http::request req, http::responder done);
void process_kill_all(app& a, http::request req, http::responder done);
void process_get(app& a, http::request req, http::responder done);
void process_kill(app& a, http::request req, http::responder done);
void process_logs(app& a, http::request req, http::responder done);
void process_stream(app& a, http::request req, http::responder done);

}  // namespace sbx::handlers
