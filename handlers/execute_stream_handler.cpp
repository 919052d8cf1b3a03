#include "handlers/execute_handler.hpp"

#include "handlers/not_implemented.hpp"

namespace sbx::handlers {

void execute_stream(app&, http::request req, http::responder done) { not_implemented(req, done); }

}  // namespace sbx::handlers
