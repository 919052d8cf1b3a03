#include "handlers/process_handler.hpp"

#include "handlers/not_implemented.hpp"

namespace sbx::handlers {

void process_start(app&, http::request req, http::responder done) { not_implemented(req, done); }
void process_list(app&, http::request req, http::responder done) { not_implemented(req, done); }
void process_kill_all(app&, http::request req, http::responder done) { not_implemented(req, done); }
void process_get(app&, http::request req, http::responder done) { not_implemented(req, done); }
void process_kill(app&, http::request req, http::responder done) { not_implemented(req, done); }
void process_logs(app&, http::request req, http::responder done) { not_implemented(req, done); }
void process_stream(app&, http::request req, http::responder done) { not_implemented(req, done); }

}  // namespace sbx::handlers
