#pragma once
// Sessions: named, persistent bash shells (API.md §4-5). Knows nothing of HTTP.
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/result.hpp"
#include "core/runtime.hpp"

namespace sbx {

namespace session {
class shell_session;
}

struct session_options {
  std::string id;                          // empty: generated
  std::map<std::string, std::string> env;  // added to the daemon's environment
  std::string cwd;                         // empty: the workspace
};

struct command_request {
  std::string command;
  std::optional<std::string> cwd;          // this command only
  std::map<std::string, std::string> env;  // this command only
  std::uint64_t timeout_ms = 0;            // 0: the configured default
};

struct command_result {
  int exit_code = 0;
  std::string out;  // raw bytes
  std::string err;  // raw bytes
};

// What a process started "in" a session inherits: its current directory and
// exported environment at that moment.
struct session_context {
  std::string cwd;
  std::vector<std::string> env;  // NAME=value
};

class session_manager {
 public:
  explicit session_manager(runtime& rt);
  ~session_manager();
  session_manager(const session_manager&) = delete;
  session_manager& operator=(const session_manager&) = delete;

  // Creates a session; an id already in use is an error mentioning "already exists".
  result<std::string> create(session_options opts);
  // Ids in creation order.
  std::vector<std::string> list() const;
  // Ends the session's shell and everything it runs; unknown id: 404 error.
  status remove(const std::string& id);

  using command_done = std::function<void(result<command_result>)>;
  // Runs a foreground command in the session (auto-created if unknown).
  void execute(const std::string& id, command_request req, command_done done);

  using context_done = std::function<void(result<session_context>)>;
  // The session's cwd and exported env (auto-created if unknown). Never waits
  // behind a running command: a busy session answers with what it last knew.
  void context(const std::string& id, context_done done);

  // Last known working directory of a session; the workspace for unknown ids.
  std::string cwd_of(const std::string& id) const;

  void shutdown();

 private:
  std::shared_ptr<session::shell_session> find_or_create(const std::string& id);

  runtime& rt_;
  mutable std::mutex mutex_;
  std::vector<std::string> order_;
  std::map<std::string, std::shared_ptr<session::shell_session>> sessions_;
};

}  // namespace sbx
