#include "handlers/command_request.hpp"

#include "app/app.hpp"
#include "handlers/request_body.hpp"
#include "process/process_registry.hpp"
#include "session/shell_script.hpp"

namespace sbx::handlers {

result<parsed_command> read_command_request(const nlohmann::json& body, const http::request& req,
                                            bool use_request_context) {
  fields f(body);
  parsed_command cmd;
  cmd.command = f.required_str("command");
  auto sid = f.str("sessionId");
  if (auto cwd = f.str("cwd")) cmd.cwd = std::move(*cwd);
  if (auto env = f.string_map("env")) cmd.env = std::move(*env);
  auto timeout = f.milliseconds("timeoutMs");
  cmd.background = f.boolean("background").value_or(false);
  cmd.process_id = f.str("processId");
  if (!f.ok()) return f.error();

  if (cmd.command.find_first_not_of(" \t\r\n") == std::string::npos)
    return make_error(codes::invalid_command, "Invalid command: empty command provided");
  if (cmd.command.find('\0') != std::string::npos)
    return make_error(codes::invalid_command, "Invalid command: contains NUL bytes");
  if (timeout) cmd.timeout_ms = *timeout;
  for (const auto& [name, value] : cmd.env)
    if (!session::valid_env_name(name))
      return field_error("env", "'" + name + "' is not a valid environment variable name");
  if (cmd.cwd && cmd.cwd->empty()) return field_error("cwd", "must not be empty");
  cmd.session_named =
      (sid && !sid->empty()) ||
      (use_request_context && (req.header("X-Session-Id") || req.header("Authorization") ||
                               req.query_param("session") || req.query_param("sessionId")));
  cmd.session_id = resolve_session_id(req, sid, use_request_context);
  return cmd;
}

process::start_request to_start_request(parsed_command cmd) {
  process::start_request start;
  start.command = std::move(cmd.command);
  start.session_id = std::move(cmd.session_id);
  start.process_id = std::move(cmd.process_id);
  start.cwd = std::move(cmd.cwd);
  start.env = std::move(cmd.env);
  return start;
}

nlohmann::json process_started_body(const process::process_info& p) {
  nlohmann::json body = {{"processId", p.id}, {"command", p.command}};
  if (p.pid) body["pid"] = *p.pid;
  return success(std::move(body));
}

void execute_background(app& a, parsed_command cmd, http::responder done) {
  a.processes().start(to_start_request(std::move(cmd)), [done](result<process::process_info> r) {
    if (!r) return done(r.error());
    done(http::response::json(process_started_body(*r)));
  });
}

}  // namespace sbx::handlers
