#pragma once
// The code interpreter (API.md §10): code contexts, each owning long-lived
// executor processes drawn from per-language pools, and streamed runs.
//
// All state lives on one strand; the public methods may be called from any
// thread and answer through their callbacks (on the strand).
#include <sys/types.h>

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include <boost/asio/strand.hpp>

#include "core/result.hpp"
#include "core/runtime.hpp"
#include "interpreter/code_context.hpp"
#include "interpreter/executor_command.hpp"
#include "interpreter/executor_pool.hpp"
#include "interpreter/language.hpp"
#include "server/sse.hpp"

namespace sbx {

struct code_context_options {
  interp::language lang = interp::language::python;
  std::string cwd;  // empty: the workspace
  std::map<std::string, std::string> env;
};

struct code_context_info {
  std::string id;
  interp::language lang;
  std::string cwd;
};

struct code_run_request {
  std::string context_id;
  std::string code;
  std::optional<interp::language> lang;  // default: the context's
  std::uint64_t timeout_ms = 0;          // 0: INTERPRETER_EXECUTION_TIMEOUT_MS
};

struct interpreter_pool_stats {
  interp::language lang;
  std::size_t live;
  std::size_t idle;
};

class interpreter_service {
 public:
  explicit interpreter_service(runtime& rt);
  ~interpreter_service();
  interpreter_service(const interpreter_service&) = delete;
  interpreter_service& operator=(const interpreter_service&) = delete;

  // Pre-starts the pools. Posted by the constructor, so it runs once the
  // I/O context runs, i.e. after the daemon listens; calling it again is harmless.
  void start();

  void create_context(code_context_options opts,
                      std::function<void(result<code_context_info>)> done);
  void list_contexts(std::function<void(std::vector<code_context_info>)> done);
  void delete_context(std::string id, std::function<void(status)> done);
  // The stream of the run, or CONTEXT_NOT_FOUND before anything streams.
  void execute(code_run_request req,
               std::function<void(result<std::shared_ptr<http::sse_channel>>)> done);
  void pool_stats(std::function<void(std::vector<interpreter_pool_stats>)> done);

  // Ends every executor now (daemon shutdown). Safe from any thread.
  void shutdown();

 private:
  using context_ptr = std::shared_ptr<interp::code_context>;
  using executor_ptr = std::shared_ptr<interp::executor>;
  using acquired_fn = std::function<void(result<executor_ptr>)>;

  result<executor_ptr> launch(interp::language lang, interp::executor::ready_fn on_ready);
  interp::executor_pool& pool(interp::language lang) { return *pools_[interp::index_of(lang)]; }
  void acquire_for(const context_ptr& ctx, interp::language lang, acquired_fn done);
  // Frees an executor of `lang` for `asking` when all are taken: the least
  // recently used one of another context that is not running code in it.
  void make_room(interp::language lang, const interp::code_context& asking);
  // Marks the context deleted and ends its queued and running runs with
  // `reason` as their last event.
  void end_runs(interp::code_context& ctx, const std::string& reason);
  void pump(const context_ptr& ctx);
  void begin_run(const context_ptr& ctx, const std::shared_ptr<interp::code_run>& run,
                 const executor_ptr& e);
  // `unheard`: the run's client had gone, so its last event reached nobody.
  void run_finished(const context_ptr& ctx, const executor_ptr& e, interp::code_run::outcome o,
                    bool unheard);
  void on_executor_exit(const executor_ptr& e, process::exit_status st, bool run_told);
  // Takes an executor out of service: killed, uncounted, its pool refilled.
  void retire(const executor_ptr& e);
  context_ptr find(const std::string& id) const;
  // SIGKILLs every executor tree still running; later launches are refused.
  void kill_all();

  runtime& rt_;
  interp::strand strand_;
  interp::executor_files executor_files_;
  std::vector<std::string> executor_env_;
  std::array<std::unique_ptr<interp::executor_pool>, interp::all_languages.size()> pools_;
  std::unordered_map<std::string, context_ptr> contexts_;
  // The ids in contexts_, readable off the strand: a run on a known context
  // answers its request at once instead of after a hop to the strand.
  mutable std::mutex ids_mutex_;
  std::unordered_set<std::string> ids_;
  std::vector<context_ptr> creation_order_;
  std::unordered_map<interp::executor*, std::weak_ptr<interp::code_context>> owners_;
  bool started_ = false;

  // Read by shutdown() from any thread.
  std::atomic<bool> stopping_{false};
  std::mutex pids_mutex_;
  std::unordered_set<pid_t> pids_;
};

}  // namespace sbx
