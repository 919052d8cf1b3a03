#include "process/reaper.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <map>

#include "core/log.hpp"
#include "process/environment.hpp"

namespace sbx::process {
namespace {

exit_status decode(int status) {
  exit_status s;
  if (WIFEXITED(status)) s.code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) s.signal = WTERMSIG(status);
  return s;
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
  launcher_.sweep();
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

result<pid_t> reaper::spawn(spawn_options opts, exit_fn on_exit) {
  if (opts.argv.empty()) return make_error(codes::internal_error, "spawn: empty argv");
  if (opts.program.empty()) {
    const auto& name =
        opts.search_path && !opts.fallback_argv.empty() ? opts.fallback_argv[0] : opts.argv[0];
    opts.program = resolve(name);
  }
  // Registration happens under the same lock the reaper takes, so the exit
  // of a very short-lived child cannot be missed.
  std::lock_guard lock(mutex_);
  auto pid = launcher_.launch(std::move(opts));
  if (pid) watchers_.emplace(*pid, std::move(on_exit));
  return pid;
}

std::string reaper::resolve(const std::string& program) {
  if (program.find('/') != std::string::npos) return program;
  std::lock_guard lock(paths_mutex_);
  if (auto it = paths_.find(program); it != paths_.end()) return it->second;
  const char* path = std::getenv("PATH");
  auto found = find_in_path(path ? path : "/usr/local/bin:/usr/bin:/bin", program);
  if (!found) return program;  // the spawn then fails as a missing file
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
