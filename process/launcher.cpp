#include "process/launcher.hpp"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cstring>
#include <thread>

#include "core/log.hpp"

namespace sbx::process {
namespace {

// Everything the child runs: inlined into child_main, uninstrumented (the
// sanitizers' runtime state belongs to the daemon's threads), and never
// writing errno (it is the spawning thread's, which keeps running).
#define SBX_CHILD_CODE __attribute__((always_inline, no_sanitize("address", "undefined"))) inline

SBX_CHILD_CODE long raw_syscall(long n, long a = 0, long b = 0, long c = 0, long d = 0) {
#if defined(__x86_64__)
  long ret;
  register long r10 __asm__("r10") = d;
  __asm__ volatile("syscall"
                   : "=a"(ret)
                   : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10)
                   : "rcx", "r11", "memory");
  return ret;
#elif defined(__aarch64__)
  register long x8 __asm__("x8") = n;
  register long x0 __asm__("x0") = a;
  register long x1 __asm__("x1") = b;
  register long x2 __asm__("x2") = c;
  register long x3 __asm__("x3") = d;
  __asm__ volatile("svc 0" : "+r"(x0) : "r"(x8), "r"(x1), "r"(x2), "r"(x3) : "memory");
  return x0;
#else
#error "process/launcher.cpp: raw system calls are written for x86_64 and aarch64"
#endif
}

template <class P>
SBX_CHILD_CODE long arg(P* p) {
  return reinterpret_cast<long>(p);
}

// The kernel's struct sigaction (not libc's): all zero is SIG_DFL.
struct kernel_sigaction {
  unsigned long handler = 0;
  unsigned long flags = 0;
  unsigned long restorer = 0;
  unsigned long mask = 0;
};

// The parent's copies of a child's descriptors go at or above this, above
// every target (the highest in use is a session shell's 21); kept low so a
// small descriptor limit still leaves room for them.
constexpr int k_first_source_fd = 32;
constexpr std::size_t k_stack_bytes = 32 * 1024;
constexpr int k_max_fds = 16;

}  // namespace

struct launcher::frame {
  alignas(16) unsigned char stack[k_stack_bytes];
  // Set to the child's PID by clone (CLONE_PARENT_SETTID) and cleared by the
  // kernel when the child execs or exits (CLONE_CHILD_CLEARTID).
  pid_t tid = -1;
  int exec_errno = 0;  // written by the child when execve fails

  // The options, kept alive and flattened into what the child reads.
  spawn_options opts;
  std::vector<char*> argv, envp, fallback_argv;
  std::string underscore;  // "_=" and room for a path, when searching
  // What the child reads (plain pointers: it calls nothing of the library).
  char* const* argv_ptr = nullptr;
  char* const* envp_ptr = nullptr;
  char* const* fallback_ptr = nullptr;
  char* path = nullptr;  // inside `underscore`, after "_="
  std::size_t path_room = 0;
  const char* program = nullptr;
  const char* cwd = nullptr;          // null: stay
  const char* search_path = nullptr;  // null: exec `program` with `argv`
  int moves[k_max_fds][2] = {};       // {source (>= k_first_source_fd), target}
  int move_count = 0;
  int closes[k_first_source_fd] = {};  // unlisted fds below the highest target
  int close_count = 0;
  int close_from = 3;
  unsigned fd_limit = 0;
  bool new_session = true;
  std::vector<int> sources;  // the parent's copies, closed after the clone

  bool done() const { return __atomic_load_n(&tid, __ATOMIC_ACQUIRE) == 0; }
};

namespace {

SBX_CHILD_CODE void append(char* buf, std::size_t& len, std::size_t cap, const char* s) {
  while (*s && len < cap) buf[len++] = *s++;
}

// Reports a failed step on the child's stderr (with the errno text unless
// err is 0) and exits.
SBX_CHILD_CODE void child_fail(const char* what, const char* subject, long err, int code) {
  char buf[512];
  std::size_t len = 0;
  append(buf, len, sizeof buf - 1, what);
  append(buf, len, sizeof buf - 1, subject);
  if (err != 0) {
    append(buf, len, sizeof buf - 1, ": ");
    const char* reason = strerrordesc_np(static_cast<int>(err));  // a table lookup
    append(buf, len, sizeof buf - 1, reason ? reason : "error");
  }
  buf[len++] = '\n';
  raw_syscall(SYS_write, 2, arg(buf), static_cast<long>(len));
  raw_syscall(SYS_exit_group, code);
  __builtin_unreachable();
}

// Tries argv[0] as a shell would find it along the search path; returns when
// nothing could be exec'd. `_` names each candidate as it is tried.
SBX_CHILD_CODE void search_and_exec(launcher::frame* f) {
  char* const* argv = f->argv_ptr;
  const char* name = argv[0];
  char* path = f->path;
  const std::size_t room = f->path_room;
  bool slash = false;
  for (const char* c = name; *c; ++c) slash = slash || *c == '/';
  const char* entry = slash ? "" : f->search_path;
  for (;;) {
    const char* end = entry;
    while (*end && *end != ':') ++end;
    std::size_t len = 0;
    if (!slash) {
      // An empty entry is the current directory.
      if (end == entry) {
        path[len++] = '.';
      } else {
        for (const char* c = entry; c != end && len < room; ++c) path[len++] = *c;
      }
      if (len < room) path[len++] = '/';
    }
    for (const char* c = name; *c && len < room; ++c) path[len++] = *c;
    if (len < room) {
      path[len] = '\0';
      long rc = raw_syscall(SYS_execve, arg(path), arg(argv), arg(f->envp_ptr));
      // Not there (or not allowed): the next entry. Anything else (say, a
      // script without #!) is the shell's to handle.
      if (rc != -ENOENT && rc != -ENOTDIR && rc != -EACCES && rc != -ELOOP && rc != -ENAMETOOLONG)
        return;
    }
    if (slash || !*end) return;
    entry = end + 1;
  }
}

__attribute__((no_sanitize("address", "undefined"))) int child_main(void* p) {
  auto* f = static_cast<launcher::frame*>(p);
  // Signals are blocked (the parent blocked them around clone). Handlers are
  // the daemon's; none may run here, and the program starts with defaults.
  kernel_sigaction dfl;
  for (long sig = 1; sig <= 64; ++sig)
    if (sig != SIGKILL && sig != SIGSTOP)
      raw_syscall(SYS_rt_sigaction, sig, arg(&dfl), 0, sizeof(unsigned long));
  if (f->new_session) raw_syscall(SYS_setsid);

  for (int i = 0; i < f->move_count; ++i)
    if (long rc = raw_syscall(SYS_dup3, f->moves[i][0], f->moves[i][1], 0); rc < 0)
      child_fail("sandboxd: ", "dup3", -rc, 126);
  for (int i = 0; i < f->close_count; ++i) raw_syscall(SYS_close, f->closes[i]);
  if (raw_syscall(SYS_close_range, f->close_from, ~0U, 0) < 0)
    for (unsigned fd = f->close_from; fd < f->fd_limit; ++fd) raw_syscall(SYS_close, fd);

  if (f->cwd)
    if (long rc = raw_syscall(SYS_chdir, arg(f->cwd)); rc < 0)
      child_fail("Failed to change directory to ", f->cwd, 0, 1);  // as the API has it

  unsigned long none = 0;
  raw_syscall(SYS_rt_sigprocmask, SIG_SETMASK, arg(&none), 0, sizeof none);
  if (f->search_path) {
    search_and_exec(f);
    long rc = raw_syscall(SYS_execve, arg(f->program), arg(f->fallback_ptr), arg(f->envp_ptr));
    f->exec_errno = static_cast<int>(-rc);
    child_fail("", f->program, -rc, rc == -ENOENT ? 127 : 126);
  }
  long rc = raw_syscall(SYS_execve, arg(f->program), arg(f->argv_ptr), arg(f->envp_ptr));
  f->exec_errno = static_cast<int>(-rc);
  child_fail("", f->program, -rc, rc == -ENOENT ? 127 : 126);
  return 127;
}

std::string errno_text(const std::string& what, int err) {
  return what + ": " + std::strerror(err);
}

}  // namespace

launcher::launcher() {
  int fd = open("/dev/null", O_RDWR | O_CLOEXEC);
  dev_null_ = fd < 0 ? -1 : fcntl(fd, F_DUPFD_CLOEXEC, k_first_source_fd);
  if (fd >= 0) close(fd);
  rlimit rl{};
  fd_limit_ = getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY
                  ? static_cast<unsigned>(std::min<rlim_t>(rl.rlim_cur, 1 << 20))
                  : 1 << 16;
}

launcher::~launcher() {
  // A child still before its execve runs on its frame: give it time, then
  // leave what remains allocated rather than pull memory from under it.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(1);
  for (;;) {
    sweep();
    std::lock_guard lock(mutex_);
    if (in_flight_.empty()) break;
    if (std::chrono::steady_clock::now() > deadline) {
      for (auto& f : in_flight_) (void)f.release();
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  if (dev_null_ >= 0) close(dev_null_);
}

void launcher::sweep() {
  std::lock_guard lock(mutex_);
  std::erase_if(in_flight_, [](const std::unique_ptr<frame>& f) {
    if (!f->done()) return false;
    if (f->exec_errno)
      log::warn("exec failed",
                {{"program", f->opts.program}, {"error", std::strerror(f->exec_errno)}});
    return true;
  });
}

result<pid_t> launcher::launch(spawn_options opts) {
  if (opts.argv.empty() || (opts.search_path && opts.fallback_argv.empty()))
    return make_error(codes::internal_error, "spawn: empty argv");
  if (opts.fds.size() + 3 > k_max_fds)
    return make_error(codes::internal_error, "spawn: too many descriptors");
  // What execve and chdir would refuse is refused here, with the errno text
  // a caller can show; the child's own checks then only meet races.
  struct stat st {};
  int err = 0;
  if (::stat(opts.program.c_str(), &st) != 0)
    err = errno;
  else if (!S_ISREG(st.st_mode))
    err = EACCES;
  else if (access(opts.program.c_str(), X_OK) != 0)
    err = errno;
  if (err)
    return make_error(codes::internal_error,
                      "Failed to start '" + opts.argv[0] + "': " + std::strerror(err));
  if (!opts.cwd.empty()) {
    if (::stat(opts.cwd.c_str(), &st) != 0)
      err = errno;
    else if (!S_ISDIR(st.st_mode))
      err = ENOTDIR;
    if (err)
      return make_error(codes::internal_error, "Failed to start '" + opts.argv[0] + "': chdir " +
                                                   opts.cwd + ": " + std::strerror(err));
  }

  // Default-initialised: the stack needs no zeroing.
  std::unique_ptr<frame> f(new frame);
  f->opts = std::move(opts);
  const spawn_options& o = f->opts;
  for (const auto& a : o.argv) f->argv.push_back(const_cast<char*>(a.c_str()));
  f->argv.push_back(nullptr);
  for (const auto& a : o.fallback_argv) f->fallback_argv.push_back(const_cast<char*>(a.c_str()));
  f->fallback_argv.push_back(nullptr);
  for (const auto& e : o.env)
    if (!o.search_path || e.compare(0, 2, "_=") != 0)
      f->envp.push_back(const_cast<char*>(e.c_str()));
  if (o.search_path) {
    f->underscore.assign(2 + PATH_MAX, '\0');
    f->underscore[0] = '_';
    f->underscore[1] = '=';
    f->envp.push_back(f->underscore.data());
    f->search_path = o.search_path->c_str();
  }
  f->envp.push_back(nullptr);
  f->argv_ptr = f->argv.data();
  f->envp_ptr = f->envp.data();
  f->fallback_ptr = f->fallback_argv.data();
  if (o.search_path) {
    f->path = f->underscore.data() + 2;
    f->path_room = f->underscore.size() - 2;
  }
  f->program = o.program.c_str();
  f->cwd = o.cwd.empty() ? nullptr : o.cwd.c_str();
  f->new_session = o.new_session;
  f->fd_limit = fd_limit_;

  // Each listed parent fd is copied above the targets (close-on-exec), so a
  // dup3 onto one target can never replace another's source.
  std::pair<int, int> mapping[k_max_fds];
  int count = 0;
  for (int std_fd = 0; std_fd <= 2; ++std_fd) mapping[count++] = {std_fd, -1};
  for (auto [child, parent] : o.fds) {
    if (child < 0 || child >= k_first_source_fd)
      return make_error(codes::internal_error, "spawn: child fd out of range");
    auto* same = std::find_if(mapping, mapping + count, [&](auto& m) { return m.first == child; });
    if (same != mapping + count)
      same->second = parent;
    else
      mapping[count++] = {child, parent};
  }
  int highest = 2;
  for (int i = 0; i < count; ++i) {
    auto [child, parent] = mapping[i];
    highest = std::max(highest, child);
    int source = parent < 0 ? dev_null_ : fcntl(parent, F_DUPFD_CLOEXEC, k_first_source_fd);
    if (source < 0) {
      err = errno ? errno : EBADF;
      for (int fd : f->sources) close(fd);
      return make_error(codes::internal_error, errno_text("spawn: fd", err));
    }
    if (parent >= 0) f->sources.push_back(source);
    f->moves[f->move_count][0] = source;
    f->moves[f->move_count][1] = child;
    ++f->move_count;
  }
  for (int fd = 3; fd < highest; ++fd)
    if (std::none_of(mapping, mapping + count, [&](auto& m) { return m.first == fd; }))
      f->closes[f->close_count++] = fd;
  f->close_from = highest + 1;

  sweep();
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  pid_t pid = clone(child_main, f->stack + sizeof f->stack,
                    CLONE_VM | CLONE_PARENT_SETTID | CLONE_CHILD_CLEARTID | SIGCHLD, f.get(),
                    &f->tid, nullptr, &f->tid);
  err = errno;
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  for (int fd : f->sources) close(fd);
  if (pid < 0)
    return make_error(codes::internal_error,
                      "Failed to start '" + f->opts.argv[0] + "': " + std::strerror(err));

  // Published only now, when this thread is done with it: from here a sweep
  // on another thread may free it as soon as the child has exec'd. Should
  // the list fail to grow, the frame is left allocated, never freed under
  // the child.
  frame* running = f.release();
  try {
    std::lock_guard lock(mutex_);
    in_flight_.emplace_back(running);
  } catch (...) {
  }
  return pid;
}

}  // namespace sbx::process
