#include "handlers/port_handler.hpp"

#include "handlers/not_implemented.hpp"

namespace sbx::handlers {

void port_expose(app&, http::request req, http::responder done) { not_implemented(req, done); }
void port_list(app&, http::request req, http::responder done) { not_implemented(req, done); }
void port_unexpose(app&, http::request req, http::responder done) { not_implemented(req, done); }

}  // namespace sbx::handlers
