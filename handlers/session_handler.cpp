#include "handlers/session_handler.hpp"

#include "handlers/not_implemented.hpp"

namespace sbx::handlers {

void session_create(app&, http::request req, http::responder done) { not_implemented(req, done); }
void session_list(app&, http::request req, http::responder done) { not_implemented(req, done); }
void session_delete(app&, http::request req, http::responder done) { not_implemented(req, done); }

}  // namespace sbx::handlers
