#pragma once
// One executor process (interpreter/executors/*): spawned through the reaper,
// driven over its fd 3 (commands) and fd 4 (events), its fd 1/2 (the user
// code's stdout/stderr) read as the bytes arrive. Every method runs on the
// interpreter strand; nothing here blocks.
#include <sys/types.h>

#include <array>
#include <chrono>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>
#include <nlohmann/json.hpp>

#include "core/result.hpp"
#include "interpreter/language.hpp"
#include "interpreter/protocol.hpp"
#include "process/reaper.hpp"

namespace sbx::interp {

using strand = boost::asio::strand<boost::asio::io_context::executor_type>;

enum class output_stream { out, err };

// What the run currently using an executor hears from it.
class executor_listener {
 public:
  virtual ~executor_listener() = default;
  // Bytes the user code printed, cut at UTF-8 character boundaries.
  virtual void on_output(output_stream s, std::string text) = 0;
  // A result event of the current run made into what on_result delivers
  // ("" for nothing). A large one is prepared on the blocking pool, so this
  // must use nothing that the listener's other methods change.
  virtual std::string prepare_result(nlohmann::json event) const = 0;
  // A result, as prepare_result made it; an error or done event. For both,
  // every byte printed before the executor wrote the event has been passed
  // to on_output first.
  virtual void on_result(std::string prepared) = 0;
  virtual void on_event(nlohmann::json event) = 0;
  virtual void on_exit(process::exit_status st) = 0;
  // Backpressure: while false, stdout/stderr are not read (the executor
  // blocks on its full pipe); `resume` is called once output is welcome again.
  virtual bool accepts_output() = 0;
  virtual void when_accepts_output(std::function<void()> resume) = 0;
};

struct launch_spec {
  language lang = language::python;
  std::vector<std::string> argv;
  std::vector<std::string> env;
  std::string cwd;
  std::chrono::milliseconds start_timeout{60'000};
};

class executor : public std::enable_shared_from_this<executor> {
 public:
  // Ready (ok) or failed to start (spawn error, exit, start timeout).
  using ready_fn = std::function<void(status)>;
  // The process ended on its own (not through kill()); `run_told` says
  // whether a run was listening and has been told.
  using exit_fn = std::function<void(const std::shared_ptr<executor>& self, process::exit_status st,
                                     bool run_told)>;
  using configured_fn = std::function<void(std::optional<std::string> error)>;

  static result<std::shared_ptr<executor>> launch(process::reaper& reaper,
                                                  boost::asio::thread_pool& blocking, strand& s,
                                                  const launch_spec& spec, ready_fn on_ready,
                                                  exit_fn on_exit);
  executor(boost::asio::thread_pool& blocking, strand& s, language lang, ready_fn on_ready,
           exit_fn on_exit);
  ~executor();
  executor(const executor&) = delete;
  executor& operator=(const executor&) = delete;

  language lang() const { return lang_; }
  pid_t pid() const { return pid_; }
  bool alive() const { return state_ != state::dead; }

  // Binds the executor to a context's working directory and environment.
  void configure(const std::string& cwd, const std::map<std::string, std::string>& env,
                 configured_fn done);
  // Starts one run; its output and events go to `listener` until detach().
  void run(const std::string& id, const std::string& code,
           std::shared_ptr<executor_listener> listener);
  void detach();
  // SIGINT to the executor: the run raises KeyboardInterrupt (or stops).
  void interrupt();
  // Ends the process tree with SIGKILL; no callback runs afterwards.
  void kill();

 private:
  enum class state { starting, ready, dead };

  void start_timer(std::chrono::milliseconds timeout);
  void arm_output(output_stream s);
  void on_output_readable(output_stream s);
  // Reads what is readable now (at most `limit` bytes); false on EOF.
  bool read_output(output_stream s, std::size_t limit);
  void deliver_output(output_stream s, std::string_view bytes, bool final);
  void drain_output();
  void emit_held(output_stream s);
  void flush_held();
  void arm_events();
  // Reads and handles event lines, up to a budget; true if it was used up.
  bool read_events();
  void handle_event_lines();
  // Tells the log, and the run in progress, of event lines dropped as too long.
  void report_dropped_events();
  // Drains fd 1/2 once for the event line being handled or arriving.
  void drain_for_event();
  // A large event line is parsed (and a result prepared) on the blocking
  // pool; until it is handled, no later event or output is.
  void offload_event_line(std::string line, bool continued);
  void on_event_line_parsed(std::optional<nlohmann::json> ev, std::optional<std::string> prepared,
                            bool continued);
  void handle_event(nlohmann::json ev, std::optional<std::string> prepared_result);
  void send(std::string line);
  void write_next();
  void on_process_exit(process::exit_status st);
  void fail_start(std::string reason);
  void close_pipes();

  boost::asio::thread_pool& blocking_;
  strand& strand_;
  language lang_;
  state state_ = state::starting;
  pid_t pid_ = -1;
  ready_fn on_ready_;
  exit_fn on_exit_;
  configured_fn on_configured_;

  std::array<boost::asio::posix::stream_descriptor, 2> output_;
  std::array<std::string, 2> partial_utf8_;
  // Text of an unfinished line, held briefly so that print()'s separate
  // writes of text and newline reach the client as one line.
  std::array<std::string, 2> held_;
  boost::asio::steady_timer hold_timer_;
  bool hold_armed_ = false;
  std::array<bool, 2> armed_{false, false};
  std::array<bool, 2> open_{true, true};
  bool paused_ = false;
  std::uint64_t pause_generation_ = 0;
  std::string startup_stderr_;  // last bytes, for a start-up failure message

  boost::asio::posix::stream_descriptor events_;
  line_splitter event_lines_;
  std::size_t reported_drops_ = 0;  // event_lines_.dropped() already reported
  bool events_armed_ = false;
  // fd 1/2 have been drained for the next event line: before each read
  // that starts a line, and when a line begins to arrive after another ended
  // in the same read (its writer is still busy with it, so all they hold
  // was printed before it).
  bool drained_ = false;
  bool partial_drained_ = false;  // the unfinished line has had its drain
  bool offloading_ = false;       // an event line is being parsed off the strand
  bool output_deferred_ = false;  // fd 1/2 became readable meanwhile
  std::optional<process::exit_status> exit_deferred_;
  boost::asio::posix::stream_descriptor commands_;
  std::deque<std::string> command_queue_;
  bool writing_ = false;
  boost::asio::steady_timer start_timer_;

  std::string run_id_;
  std::shared_ptr<executor_listener> listener_;
};

}  // namespace sbx::interp
