#include "handlers/interpreter_handler.hpp"

#include "handlers/not_implemented.hpp"

namespace sbx::handlers {

void interpreter_health(app&, http::request req, http::responder done) { not_implemented(req, done); }
void context_create(app&, http::request req, http::responder done) { not_implemented(req, done); }
void context_list(app&, http::request req, http::responder done) { not_implemented(req, done); }
void context_delete(app&, http::request req, http::responder done) { not_implemented(req, done); }
void execute_code(app&, http::request req, http::responder done) { not_implemented(req, done); }

}  // namespace sbx::handlers
