#pragma once
// The daemon's only waitpid(). Every child is spawned through reaper::spawn,
// which registers its exit callback before the child can exit; SIGCHLD drives
// the reaping (no polling). Unknown children (orphans re-parented to us when
// sandboxd is PID 1 or a subreaper) are reaped and dropped, so no zombie
// survives.
#include <sys/types.h>

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>

#include "core/result.hpp"
#include "process/launcher.hpp"

namespace sbx::process {

// How a child ended, decoded from a wait status.
struct exit_status {
  int code = -1;   // exit code, or -1 when killed by a signal
  int signal = 0;  // terminating signal, or 0
  // Shell convention: code, or 128 + signal.
  int shell_code() const { return signal ? 128 + signal : code; }
};

class reaper {
 public:
  using exit_fn = std::function<void(exit_status)>;

  explicit reaper(boost::asio::io_context& io);
  ~reaper();

  // Starts the child and registers on_exit, which runs on an I/O thread once
  // the child has been reaped. Fails with the errno text.
  result<pid_t> spawn(spawn_options opts, exit_fn on_exit);

  // Number of children still registered.
  std::size_t live() const;

 private:
  void arm();
  void reap_all();

  boost::asio::io_context& io_;
  boost::asio::signal_set sigchld_;
  // argv[0] without a slash, resolved through the daemon's PATH.
  std::string resolve(const std::string& program);

  launcher launcher_;
  mutable std::mutex mutex_;
  std::unordered_map<pid_t, exit_fn> watchers_;
  std::mutex paths_mutex_;
  std::unordered_map<std::string, std::string> paths_;
};

// PIDs of every process below `root` (children, grandchildren, ...), found by
// walking /proc. Includes processes that left root's process group.
std::vector<pid_t> descendants(pid_t root);

// Signals a process group and every descendant of its leader.
void signal_tree(pid_t leader, int sig);

}  // namespace sbx::process
