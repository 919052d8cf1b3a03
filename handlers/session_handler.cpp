#include "handlers/session_handler.hpp"

#include "app/app.hpp"
#include "handlers/request_body.hpp"
#include "session/session_manager.hpp"

namespace sbx::handlers {

void session_create(app& a, http::request req, http::responder done) {
  // An empty or unparsable body means "all defaults" (API.md §4.2).
  session_options opts;
  auto body = parse_body(req);
  if (body) {
    fields f(*body);
    if (const auto* id = f.raw("id"); id && id->is_string()) opts.id = id->get<std::string>();
    if (auto env = f.string_map("env")) opts.env = std::move(*env);
    if (auto cwd = f.str("cwd")) opts.cwd = std::move(*cwd);
    if (!f.ok()) return done(f.error());
  }
  auto created = a.sessions().create(std::move(opts));
  if (!created) return done(created.error());
  std::string cwd = a.sessions().cwd_of(*created);
  done(http::response::json(
      success({{"data", {{"id", *created}, {"cwd", cwd}}}, {"id", *created}})));
}

void session_list(app& a, http::request, http::responder done) {
  done(http::response::json(success({{"data", a.sessions().list()}})));
}

void session_delete(app& a, http::request req, http::responder done) {
  auto body = parse_body(req);
  if (!body) return done(body.error());
  fields f(*body);
  auto id = f.required_str("sessionId");
  if (!f.ok()) return done(f.error());
  if (auto removed = a.sessions().remove(id); !removed) return done(removed.error());
  done(http::response::json(success({{"sessionId", id}})));
}

}  // namespace sbx::handlers
