#include "handlers/execute_handler.hpp"

#include <chrono>

#include "app/app.hpp"
#include "handlers/command_request.hpp"
#include "handlers/request_body.hpp"
#include "session/session_manager.hpp"

namespace sbx::handlers {
namespace {

// Foreground output shape (API.md §5.2): one trailing newline removed, NULs
// dropped (invalid UTF-8 is replaced when the JSON is written).
std::string shape_output(std::string s) {
  std::erase(s, '\0');
  if (!s.empty() && s.back() == '\n') s.pop_back();
  return s;
}

}  // namespace

void execute(app& a, http::request req, http::responder done) {
  auto body = parse_body(req);
  if (!body) return done(body.error());
  auto parsed = read_command_request(*body, req);
  if (!parsed) return done(parsed.error());
  auto& cmd = *parsed;

  if (cmd.background) return execute_background(a, std::move(cmd), std::move(done));

  auto started = std::chrono::steady_clock::now();
  command_request run{cmd.command, cmd.cwd, cmd.env, cmd.timeout_ms};
  a.sessions().execute(cmd.session_id, std::move(run),
                       [done, command = cmd.command, session_id = cmd.session_id,
                        named = cmd.session_named, started](result<command_result> r) {
                         if (!r) return done(r.error());
                         auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                                       std::chrono::steady_clock::now() - started)
                                       .count();
                         nlohmann::json out = {{"exitCode", r->exit_code},
                                               {"stdout", shape_output(std::move(r->out))},
                                               {"stderr", shape_output(std::move(r->err))},
                                               {"command", command},
                                               {"duration", ms}};
                         if (named) out["sessionId"] = session_id;
                         auto body = success(std::move(out));
                         body["success"] = r->exit_code == 0;
                         done(http::response::json(body));
                       });
}

}  // namespace sbx::handlers
