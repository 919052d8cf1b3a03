#pragma once
// Background processes (API.md §6): starts commands in the context of a
// session, keeps their records (finished ones too, up to a bound), kills
// whole trees, and ends everything on daemon shutdown. Knows nothing of HTTP.
#include <deque>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/result.hpp"
#include "core/runtime.hpp"
#include "process/managed_process.hpp"
#include "process/process_types.hpp"
#include "session/session_manager.hpp"

namespace sbx {

class process_registry {
 public:
  // Finished records kept for list/get/logs; older ones are forgotten.
  static constexpr std::size_t k_finished_records = 1000;

  explicit process_registry(runtime& rt, session_manager& sessions);
  ~process_registry();
  process_registry(const process_registry&) = delete;
  process_registry& operator=(const process_registry&) = delete;

  using start_done = std::function<void(result<process::process_info>)>;
  // Starts `bash --norc --noprofile -c <command>` (a plain program call is
  // exec'd directly, see direct_command.hpp) with the session's current
  // directory and exported environment (request cwd/env win), stdin
  // /dev/null, in its own process group. Answers once it runs (or failed):
  // empty command -> 400 INVALID_COMMAND; a running process already has the
  // id -> 409 RESOURCE_BUSY; spawn failure -> 500 STREAM_START_ERROR. A cwd
  // that does not exist is not an error: the process completes at once with
  // exit code 1 and stderr "Failed to change directory to <cwd>".
  // `done` may run on the calling thread or later on another one.
  void start(process::start_request req, start_done done);

  // Creation order; `filter` keeps one status.
  std::vector<process::process_info> list(
      std::optional<process::process_status> filter = std::nullopt) const;
  result<process::process_info> get(const std::string& id) const;
  result<process::process_logs> logs(const std::string& id) const;
  // For log streams.
  result<std::shared_ptr<process::managed_process>> find(const std::string& id) const;

  // Signals the process tree (escalating to SIGKILL after the grace).
  // Unknown id -> 404 PROCESS_NOT_FOUND; already finished -> 404
  // COMMAND_NOT_FOUND (API.md §6.5).
  status kill(const std::string& id, int sig);
  // Kills every running process; returns how many.
  int kill_all(int sig);

  // Ends every process tree this service started: SIGTERM, then SIGKILL for
  // what is still alive after the kill grace. Returns within the grace.
  void shutdown();

 private:
  using entry = std::shared_ptr<process::managed_process>;

  result<entry> reserve(const process::start_request& req);
  void launch(const entry& rec, process::start_request req, result<session_context> ctx,
              start_done done);
  void on_finished(const entry& rec);
  // Keeps the output held by finished records within cfg.finished_log_bytes.
  void release_old_logs();     // caller holds mutex_
  std::string new_id() const;  // caller holds mutex_

  runtime& rt_;
  session_manager& sessions_;

  mutable std::mutex mutex_;
  bool shutting_down_ = false;
  std::list<entry> order_;  // creation order
  std::unordered_map<std::string, std::list<entry>::iterator> by_id_;
  std::deque<std::weak_ptr<process::managed_process>> finished_;  // oldest first
  std::uint64_t finished_log_bytes_ = 0;  // held by finished_, at most overcounted
};

}  // namespace sbx
