#pragma once
// One git child run asynchronously: spawned through the reaper, stdout and
// stderr read through pipes on a strand (only the last bytes are kept), and a
// deadline that ends the whole process tree (TERM, then KILL). Nothing here
// blocks the thread it runs on.
#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/readable_pipe.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include "core/result.hpp"
#include "core/runtime.hpp"
#include "process/reaper.hpp"

namespace sbx::git {

struct command_spec {
  std::vector<std::string> argv;
  std::vector<std::string> env;  // NAME=value, exactly what the child gets
  std::string cwd;
  std::chrono::milliseconds timeout;     // whole run, then the tree is ended
  std::chrono::milliseconds kill_grace;  // TERM -> KILL
  std::size_t keep_bytes = 64 * 1024;    // per stream, the tail is kept
};

struct command_outcome {
  process::exit_status status;
  std::string out;
  std::string err;
  bool timed_out = false;
};

class git_command : public std::enable_shared_from_this<git_command> {
 public:
  using done_fn = std::function<void(command_outcome)>;

  // Spawns the child; `done` runs once, on an I/O thread, after the child was
  // reaped and its output read. Fails when the child cannot be started.
  static result<std::shared_ptr<git_command>> start(runtime& rt, command_spec spec, done_fn done);

  // Ends the child's process tree at once (daemon shutdown). Safe from any thread.
  void kill();

  // Use start(); public only for make_shared.
  git_command(runtime& rt, command_spec spec, done_fn done);

 private:
  using strand = boost::asio::strand<boost::asio::io_context::executor_type>;

  struct stream {
    explicit stream(const strand& ex) : pipe(ex) {}
    boost::asio::readable_pipe pipe;
    std::string kept;
    bool open = true;
    char buf[16 * 1024];
  };

  void read_next(stream& s);
  void on_exit(process::exit_status status);
  void on_deadline();
  void maybe_finish();

  command_spec spec_;
  done_fn done_;
  strand strand_;
  stream out_;
  stream err_;
  boost::asio::steady_timer deadline_;      // the run's timeout
  boost::asio::steady_timer kill_timer_;    // TERM -> KILL after a timeout
  boost::asio::steady_timer output_grace_;  // pipes held open after the exit
  pid_t pid_ = -1;
  std::atomic<bool> exited_{false};
  bool finished_ = false;
  command_outcome outcome_;
};

}  // namespace sbx::git
