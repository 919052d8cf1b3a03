#pragma once
// Starts children without waiting for their exec. posix_spawn (vfork) holds
// the calling thread until the child has exec'd, which on a busy machine means
// until the child gets a CPU: an I/O thread then stalls for as long as another
// program's start-up takes. Here the child is a clone() that shares the
// daemon's memory only until its execve: it sets itself up on its own stack
// from a frame prepared beforehand, using raw system calls (nothing that
// touches the daemon's heap, locks or errno), and the caller has its PID at
// once. The kernel clears a word in the frame when the child execs or dies;
// frames are freed after that.
#include <sys/types.h>

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/result.hpp"

namespace sbx::process {

// A child to start.
struct spawn_options {
  std::vector<std::string> argv;
  std::vector<std::string> env;  // "NAME=value"; the child gets exactly these
  std::string cwd;               // empty: inherit
  // Child fd <- parent fd; -1 means /dev/null. Every other fd is closed,
  // except 0-2, which get /dev/null unless listed. Child fds are < 64.
  std::vector<std::pair<int, int>> fds;
  bool new_session = true;  // setsid(): the child leads its own process group
  std::string program;      // path to exec; empty: argv[0] through the daemon's PATH
  // Set: the child looks argv[0] up along this PATH value itself, after its
  // chdir, as a shell does, with `_` set to the path it execs. When nothing
  // there can be exec'd, it execs `program` with `fallback_argv` instead (a
  // shell, which then reports the failure in its own words).
  std::optional<std::string> search_path;
  std::vector<std::string> fallback_argv;
};

class launcher {
 public:
  launcher();
  ~launcher();
  launcher(const launcher&) = delete;
  launcher& operator=(const launcher&) = delete;

  // The child's PID once it exists. `opts.program` must be set. Fails (with
  // the errno text) when the program is not an executable file, the
  // directory does not exist, or the clone fails. Should execve fail anyway,
  // the child writes why to its fd 2 and exits with 126 (127: no such file).
  result<pid_t> launch(spawn_options opts);

  // Frees the frames of children that have exec'd or died.
  void sweep();

  struct frame;  // what one child reads until its execve (launcher.cpp)

 private:
  std::mutex mutex_;
  std::vector<std::unique_ptr<frame>> in_flight_;
  int dev_null_ = -1;      // close-on-exec, moved out of the low range
  unsigned fd_limit_ = 0;  // closing by loop when close_range is missing
};

}  // namespace sbx::process
