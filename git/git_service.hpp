#pragma once
// Repository checkout (API.md §9): `git clone` run as an argv (never through
// a shell), in a session's environment, with a deadline and no way to wait on
// a credential prompt. Knows nothing of HTTP.
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "core/result.hpp"
#include "core/runtime.hpp"
#include "session/session_manager.hpp"

namespace sbx {

namespace git {
class git_command;
struct command_spec;
struct command_outcome;
}  // namespace git

struct clone_request {
  std::optional<std::string> repo_url;    // absent: the request had no string
  std::optional<std::string> branch;      // --branch
  std::optional<std::string> target_dir;  // absent or empty: <workspace>/<repo name>
  std::optional<std::int64_t> depth;      // --depth (shallow clone), 1..INT_MAX
  std::string session_id;
};

struct clone_result {
  std::string target_dir;  // absolute
  std::string branch;      // checked out, or the requested one, or "unknown"
};

class git_service {
 public:
  explicit git_service(runtime& rt, session_manager& sessions);
  ~git_service();
  git_service(const git_service&) = delete;
  git_service& operator=(const git_service&) = delete;

  using clone_done = std::function<void(result<clone_result>)>;
  // Clones asynchronously; `done` runs once, on an I/O thread.
  void clone(clone_request req, clone_done done);

  // Ends everything this service started (daemon shutdown).
  void shutdown();

 private:
  struct clone_job;

  void run_clone(std::shared_ptr<clone_job> job, session_context ctx);
  void read_branch(std::shared_ptr<clone_job> job);
  void finish(const std::shared_ptr<clone_job>& job, result<clone_result> outcome);
  // Starts a git child that shutdown() can end; exactly one of the callbacks runs.
  void launch(git::command_spec spec, std::function<void(git::command_outcome)> on_done,
              std::function<void(api_error)> on_fail);
  void untrack(std::uint64_t id);

  runtime& rt_;
  session_manager& sessions_;
  std::mutex mutex_;
  bool shut_down_ = false;
  std::uint64_t next_id_ = 0;
  // Children still running; null until start() has returned.
  std::unordered_map<std::uint64_t, std::shared_ptr<git::git_command>> running_;
};

}  // namespace sbx
