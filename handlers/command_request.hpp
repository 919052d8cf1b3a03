#pragma once
// The request shape shared by /api/execute and /api/execute/stream.
#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "core/result.hpp"
#include "process/process_types.hpp"
#include "server/http_types.hpp"

namespace sbx {
class app;
}

namespace sbx::handlers {

struct parsed_command {
  std::string command;
  std::string session_id;
  bool session_named = false;  // the request named a session (echoed back)
  std::optional<std::string> cwd;
  std::map<std::string, std::string> env;
  std::uint64_t timeout_ms = 0;
  bool background = false;
  std::optional<std::string> process_id;
};

// Validates command (non-empty), sessionId (§1.4; headers and query only when
// `use_request_context`), cwd, env (valid names), timeoutMs, background and processId.
result<parsed_command> read_command_request(const nlohmann::json& body, const http::request& req,
                                            bool use_request_context = true);

// The process-registry request for a parsed command.
process::start_request to_start_request(parsed_command cmd);

// {success, processId, pid, command, timestamp}: the answer to a started process.
nlohmann::json process_started_body(const process::process_info& p);

// `background: true` on /api/execute: starts a process record instead.
void execute_background(app& a, parsed_command cmd, http::responder done);

}  // namespace sbx::handlers
