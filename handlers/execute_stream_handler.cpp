// POST /api/execute/stream (API.md §5.3): the command runs as a background
// process (a visible record, Q20) whose output this stream follows as its
// primary reader, so a slow client slows the command instead of the daemon's
// memory growing. A client that goes away leaves the command running.
#include "app/app.hpp"
#include "handlers/command_request.hpp"
#include "handlers/execute_handler.hpp"
#include "handlers/request_body.hpp"
#include "process/log_stream.hpp"
#include "process/process_registry.hpp"
#include "server/sse.hpp"

namespace sbx::handlers {

void execute_stream(app& a, http::request req, http::responder done) {
  auto body = parse_body(req);
  if (!body) return done(body.error());
  auto parsed = read_command_request(*body, req);
  if (!parsed) return done(parsed.error());
  auto start = to_start_request(std::move(*parsed));

  auto channel = std::make_shared<http::sse_channel>();
  start.primary = std::make_shared<process::log_stream>(channel, process::log_stream::style::exec);
  a.processes().start(std::move(start), [done, channel](result<process::process_info> p) {
    if (!p) return done(p.error());
    done(http::response::sse(channel));
  });
}

}  // namespace sbx::handlers
