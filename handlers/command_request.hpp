#pragma once
// The request shape shared by /api/execute and /api/execute/stream.
#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "core/result.hpp"
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

// Validates command (non-empty), sessionId (§1.4, request context allowed),
// cwd, env (valid names), timeoutMs, background and processId.
result<parsed_command> read_command_request(const nlohmann::json& body, const http::request& req);

// `background: true` on /api/execute: starts a process record instead.
void execute_background(app& a, parsed_command cmd, http::responder done);

}  // namespace sbx::handlers
