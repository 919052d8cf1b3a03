#include "handlers/git_handler.hpp"

#include "handlers/not_implemented.hpp"

namespace sbx::handlers {

void git_checkout(app&, http::request req, http::responder done) { not_implemented(req, done); }

}  // namespace sbx::handlers
