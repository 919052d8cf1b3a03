#pragma once
// One session's persistent bash. Commands run in the shell itself (so cd,
// export, functions, aliases, options and traps persist), one at a time in
// arrival order. Output comes back through per-command pipes the daemon reads
// with Asio; completion through the shell's own report on a control pipe —
// never from EOF, so `cmd &` cannot hold a command open.
#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/readable_pipe.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/writable_pipe.hpp>

#include "core/result.hpp"
#include "core/runtime.hpp"
#include "session/session_manager.hpp"
#include "session/shell_script.hpp"

namespace sbx::process {
struct exit_status;
}

namespace sbx::session {

class output_capture;

class shell_session : public std::enable_shared_from_this<shell_session> {
 public:
  shell_session(runtime& rt, session_options opts);
  ~shell_session();

  const std::string& id() const { return opts_.id; }

  // Starts the shell now (so creation errors surface at create time).
  status start();
  void execute(command_request req, session_manager::command_done done);
  void context(session_manager::context_done done);
  std::string cwd() const;
  // Ends the shell and everything it runs; pending commands fail.
  void terminate();

 private:
  struct job {
    bool snapshot = false;
    command_request req;
    session_manager::command_done command_done;
    session_manager::context_done context_done;
  };
  struct running_command;
  // The captures of the pipes a pair of output slots holds.
  struct armed_pipes {
    std::shared_ptr<output_capture> out, err;
  };

  void pump();
  status spawn_shell();
  // Puts fresh pipes in output slot pair `pair`; disarm closes the unused
  // captures of a pair.
  status arm(int pair);
  void disarm(int pair);
  void start_command(job j);
  void start_snapshot(job j);
  void write_line(std::string line);
  void read_control();
  void on_control(std::size_t n);
  void on_shell_exit(int exit_code);
  void complete_command(int exit_code);
  void fail_command(api_error error);
  void on_timeout();
  void on_output_limit();
  // Checks, with growing intervals while a command runs, that the shell has
  // not gone back to reading commands without reporting this one; a
  // positive check is confirmed (`confirming`) before the command fails.
  void watch_report(running_command* cmd, std::chrono::milliseconds after, bool confirming);
  void on_report_lost();
  // Ends the current command (after a timeout or its output cap), and the
  // shell running it.
  void stop_command();
  void drop_shell();
  api_error command_error(const std::string& command, const std::string& reason) const;

  runtime& rt_;
  session_options opts_;
  boost::asio::strand<boost::asio::io_context::executor_type> strand_;

  // Shell state (strand only).
  pid_t shell_pid_ = -1;
  // Holds the script of a long command; the shell reads it through
  // /proc/<daemon>/fd. One per session, rewritten for each such command.
  int script_fd_ = -1;
  // The daemon's descriptors the shell opens as its stdout/stderr (see
  // output_slots), reserved for the session's life; the pipes in them, and
  // the pair the next command runs on. Pair `pair_` was opened by the shell
  // already; the other one holds the pipes it moves to after that command.
  output_slots slots_;
  armed_pipes armed_[2];
  int pair_ = 0;
  // The shell last reported errexit on: its commands take the runner that
  // keeps an ignored failure from ending it (shell_script.hpp).
  bool errexit_ = false;
  // A command of this shell mentioned ERR (as `trap ... ERR` does): its
  // commands take the errexit runner too.
  bool err_trap_ = false;
  std::unique_ptr<boost::asio::writable_pipe> stdin_;
  std::uint64_t stdin_inode_ = 0;  // the command pipe, as /proc/<shell>/fd/0 names it
  std::unique_ptr<boost::asio::readable_pipe> control_;
  std::vector<char> control_buf_;
  std::string control_data_;
  std::deque<job> queue_;
  std::unique_ptr<running_command> current_;
  std::optional<job> current_snapshot_;
  std::string snapshot_functions_;  // its F part, until the E part arrives
  bool terminated_ = false;
  // No command has run since the last environment snapshot. Written on the
  // strand; read anywhere, so that context() can answer on the caller's
  // thread when what is known is exact.
  std::atomic<bool> snapshot_current_{false};

  // Last known cwd and environment (any thread, under mutex_).
  mutable std::mutex mutex_;
  std::string cwd_;
  std::vector<std::string> env_;
};

}  // namespace sbx::session
