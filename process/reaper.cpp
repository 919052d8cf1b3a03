#include "process/reaper.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>

#include "core/log.hpp"
#include "process/environment.hpp"

extern char** environ;

namespace sbx::process {
namespace {

exit_status decode(int status) {
  exit_status s;
  if (WIFEXITED(status)) s.code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) s.signal = WTERMSIG(status);
  return s;
}

// Moves a parent fd out of the 0..63 range so dup2 targets never collide.
int high_fd(int fd) {
  return fcntl(fd, F_DUPFD_CLOEXEC, 64);
}

}  // namespace

reaper::reaper(boost::asio::io_context& io) : io_(io), sigchld_(io, SIGCHLD) {
  arm();
}

reaper::~reaper() = default;

void reaper::arm() {
  sigchld_.async_wait([this](const boost::system::error_code& ec, int) {
    if (ec) return;
    reap_all();
    arm();
  });
}

void reaper::reap_all() {
  for (;;) {
    int status = 0;
    pid_t pid = waitpid(-1, &status, WNOHANG);
    if (pid <= 0) return;
    exit_fn fn;
    {
      std::lock_guard lock(mutex_);
      auto it = watchers_.find(pid);
      if (it == watchers_.end()) continue;  // an adopted orphan: reaped, nothing to tell
      fn = std::move(it->second);
      watchers_.erase(it);
    }
    if (fn) fn(decode(status));
  }
}

std::size_t reaper::live() const {
  std::lock_guard lock(mutex_);
  return watchers_.size();
}

result<pid_t> reaper::spawn(const spawn_options& opts, exit_fn on_exit) {
  if (opts.argv.empty()) return make_error(codes::internal_error, "spawn: empty argv");

  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attr;
  posix_spawn_file_actions_init(&actions);
  posix_spawnattr_init(&attr);

  std::vector<int> temporaries;
  std::map<int, int> mapping;  // child fd -> parent fd (-1 = /dev/null)
  for (int std_fd = 0; std_fd <= 2; ++std_fd) mapping[std_fd] = -1;
  for (auto [child, parent] : opts.fds) mapping[child] = parent;

  int max_child_fd = 2;
  bool ok = true;
  for (auto [child, parent] : mapping) {
    max_child_fd = std::max(max_child_fd, child);
    if (parent < 0) {
      posix_spawn_file_actions_addopen(&actions, child, "/dev/null", O_RDWR, 0);
      continue;
    }
    int moved = high_fd(parent);
    if (moved < 0) {
      ok = false;
      break;
    }
    temporaries.push_back(moved);
    posix_spawn_file_actions_adddup2(&actions, moved, child);
  }
  // Nothing else of the daemon's reaches the child: Asio's sockets are not
  // close-on-exec, so the listener and client connections would otherwise
  // live on in every shell and process. Closing an fd that is not open is
  // not an error for posix_spawn.
  for (int fd = 3; fd < max_child_fd; ++fd)
    if (!mapping.count(fd)) posix_spawn_file_actions_addclose(&actions, fd);
  posix_spawn_file_actions_addclosefrom_np(&actions, max_child_fd + 1);
  if (!opts.cwd.empty()) posix_spawn_file_actions_addchdir_np(&actions, opts.cwd.c_str());

  // The daemon ignores SIGPIPE and handles SIGCHLD/SIGTERM/SIGINT; children
  // start with default dispositions and an empty mask.
  sigset_t defaults, empty;
  sigemptyset(&defaults);
  for (int sig : {SIGPIPE, SIGCHLD, SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2})
    sigaddset(&defaults, sig);
  sigemptyset(&empty);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  posix_spawnattr_setsigmask(&attr, &empty);
  short flags = POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK;
  if (opts.new_session) flags |= POSIX_SPAWN_SETSID;
  posix_spawnattr_setflags(&attr, flags);

  std::vector<char*> argv;
  for (const auto& a : opts.argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  std::vector<char*> envp;
  for (const auto& e : opts.env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);

  // A resolved path spares the child an exec attempt per PATH entry before
  // the right one (posix_spawnp still searches if resolution failed).
  const std::string program = opts.program.empty() ? resolve(opts.argv[0]) : opts.program;
  pid_t pid = -1;
  int rc = ok ? 0 : errno;
  if (ok) {
    // Registration happens under the same lock the reaper takes, so the exit
    // of a very short-lived child cannot be missed.
    std::lock_guard lock(mutex_);
    rc = posix_spawnp(&pid, program.c_str(), &actions, &attr, argv.data(), envp.data());
    if (rc == 0) watchers_.emplace(pid, std::move(on_exit));
  }
  for (int fd : temporaries) close(fd);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (rc != 0)
    return make_error(codes::internal_error,
                      "Failed to start '" + opts.argv[0] + "': " + std::strerror(rc));
  return pid;
}

std::string reaper::resolve(const std::string& program) {
  if (program.find('/') != std::string::npos) return program;
  std::lock_guard lock(paths_mutex_);
  if (auto it = paths_.find(program); it != paths_.end()) return it->second;
  const char* path = std::getenv("PATH");
  auto found = find_in_path(path ? path : "/usr/local/bin:/usr/bin:/bin", program);
  if (!found) return program;  // posix_spawnp searches
  return paths_[program] = std::move(*found);
}

std::vector<pid_t> descendants(pid_t root) {
  // ppid map of every process, then a walk from root.
  std::multimap<pid_t, pid_t> children;
  if (DIR* dir = opendir("/proc")) {
    while (dirent* e = readdir(dir)) {
      char* end = nullptr;
      long pid = std::strtol(e->d_name, &end, 10);
      if (pid <= 0 || *end != '\0') continue;
      char path[64];
      std::snprintf(path, sizeof path, "/proc/%ld/stat", pid);
      int fd = open(path, O_RDONLY | O_CLOEXEC);
      if (fd < 0) continue;
      char buf[512];
      ssize_t n = read(fd, buf, sizeof buf - 1);
      close(fd);
      if (n <= 0) continue;
      buf[n] = '\0';
      // "pid (comm) state ppid ..." — comm may contain spaces and parens.
      const char* close_paren = std::strrchr(buf, ')');
      if (!close_paren) continue;
      char state = 0;
      long ppid = 0;
      if (std::sscanf(close_paren + 1, " %c %ld", &state, &ppid) != 2) continue;
      children.emplace(static_cast<pid_t>(ppid), static_cast<pid_t>(pid));
    }
    closedir(dir);
  }
  std::vector<pid_t> out;
  std::vector<pid_t> stack{root};
  while (!stack.empty()) {
    pid_t p = stack.back();
    stack.pop_back();
    auto [first, last] = children.equal_range(p);
    for (auto it = first; it != last; ++it) {
      out.push_back(it->second);
      stack.push_back(it->second);
    }
  }
  return out;
}

void signal_tree(pid_t leader, int sig) {
  // Descendants first (they may have left the group), then the group itself.
  for (pid_t p : descendants(leader)) kill(p, sig);
  kill(-leader, sig);
  kill(leader, sig);
}

}  // namespace sbx::process
