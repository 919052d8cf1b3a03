// POST /api/execute/stream (API.md §5.3): the command runs as a background
// process (a visible record, Q20) whose output this stream follows as its
// primary reader, so a slow client slows the command instead of the daemon's
// memory growing. A client that goes away leaves the command running.
#include "app/app.hpp"
#include "handlers/execute_handler.hpp"
#include "handlers/request_body.hpp"
#include "process/log_stream.hpp"
#include "process/process_registry.hpp"
#include "server/sse.hpp"

namespace sbx::handlers {

void execute_stream(app& a, http::request req, http::responder done) {
  auto body = parse_body(req);
  if (!body) return done(body.error());
  fields f(*body);
  process::start_request start;
  start.command = f.required_str("command");
  auto session = f.str("sessionId");
  start.cwd = f.str("cwd");
  if (auto env = f.string_map("env")) start.env = std::move(*env);
  if (!f.ok()) return done(f.error());
  start.session_id = resolve_session_id(req, session, true);

  auto channel = std::make_shared<http::sse_channel>();
  start.primary = std::make_shared<process::log_stream>(channel, process::log_stream::style::exec);
  a.processes().start(std::move(start), [done, channel](result<process::process_info> p) {
    if (!p) return done(p.error());
    done(http::response::sse(channel));
  });
}

}  // namespace sbx::handlers
