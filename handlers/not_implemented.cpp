#include "handlers/not_implemented.hpp"

namespace sbx::handlers {

void not_implemented(const http::request& req, const http::responder& done) {
  done(make_error(
      codes::not_implemented,
      std::string(http::method_name(req.verb)) + " " + req.path + " is not implemented yet",
      {{"path", req.path}}));
}

}  // namespace sbx::handlers
