#include "session/shell_session.hpp"

#include <array>

#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string_view>

#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>

#include "core/log.hpp"
#include "process/pipe.hpp"
#include "process/reaper.hpp"
#include "session/output_capture.hpp"
#include "session/shell_script.hpp"

namespace sbx::session {

namespace net = boost::asio;
using process::close_fd;
using process::make_pipe;

namespace {

// The end of a dying command's stderr, for its error: at most 512 bytes,
// without the trailing newlines.
std::string stderr_tail(std::string err) {
  constexpr std::size_t k_max = 512;
  while (!err.empty() && (err.back() == '\n' || err.back() == '\r')) err.pop_back();
  if (err.size() > k_max) err = "..." + err.substr(err.size() - k_max);
  return err;
}

// After TERM, how long a timed-out command gets before KILL, and then how
// long the shell gets to report before it is replaced.
constexpr auto k_term_grace = std::chrono::milliseconds(1000);

std::vector<std::string> start_environment(const session_options& opts) {
  auto env = current_environment();
  for (const auto& [k, v] : opts.env) env[k] = v;
  // The shell always speaks UTF-8 (API.md §4.1).
  env["LANG"] = "C.UTF-8";
  env["LC_ALL"] = "C.UTF-8";
  return to_env_list(env);
}

// The shell opens the daemon's fds through /proc/<pid>/fd.
pid_t daemon_pid() {
  static const pid_t pid = ::getpid();
  return pid;
}

// A command whose report is overdue is checked after these intervals, each
// doubling the last; a positive check is confirmed once, after the control
// pipe's pending data has been handled.
constexpr auto k_report_watch_first = std::chrono::milliseconds(1000);
constexpr auto k_report_watch_max = std::chrono::milliseconds(16000);
constexpr auto k_report_watch_confirm = std::chrono::milliseconds(100);

// True when the shell is blocked reading its own command pipe (fd 0, one
// byte at a time): it has finished the command line it was given. Inside a
// command fd 0 is /dev/null or what the command opened, never this pipe.
bool shell_reads_commands(pid_t shell, std::uint64_t pipe_inode) {
  const std::string dir = "/proc/" + std::to_string(shell);
  char buf[128];
  int fd = ::open((dir + "/syscall").c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  ssize_t n = ::read(fd, buf, sizeof buf - 1);
  ::close(fd);
  if (n <= 0) return false;
  buf[n] = '\0';
  if (std::strncmp(buf, "0 0x0 ", 6) != 0) return false;  // read(0, ...)
  n = ::readlink((dir + "/fd/0").c_str(), buf, sizeof buf - 1);
  if (n <= 0) return false;
  return std::string_view(buf, static_cast<std::size_t>(n)) ==
         "pipe:[" + std::to_string(pipe_inode) + "]";
}

// Said of a command ended for its timeout or output cap.
constexpr const char* k_stopped_note =
    "The command was stopped, and with it the session's shell: the next command starts in a "
    "fresh shell (working directory and variables as the session began)";

std::string output_limit_reason(std::uint64_t limit) {
  return "Output too large: more than " + std::to_string(limit) +
         " bytes (max: " + std::to_string(limit) + ")";
}

}  // namespace

namespace {

// Whether a command may change its shell's exported environment (in its own
// shell: a per-command cwd or env runs it in a subshell). A cheap look at
// its words; a miss only leaves the environment as of the last snapshot.
bool may_change_environment(const command_request& req) {
  if (req.cwd || !req.env.empty()) return false;
  static constexpr std::array<std::string_view, 8> k_words{
      "export", "unset", "declare", "typeset", "source", "readonly", "set -", "allexport"};
  for (auto w : k_words)
    if (req.command.find(w) != std::string::npos) return true;
  return req.command.rfind(". ", 0) == 0 || req.command.find("\n. ") != std::string::npos ||
         req.command.find("; . ") != std::string::npos ||
         req.command.find("&& . ") != std::string::npos;
}

}  // namespace

struct shell_session::running_command {
  explicit running_command(net::strand<net::io_context::executor_type> ex) : timer(ex), watch(ex) {}
  job j;
  std::shared_ptr<output_budget> budget;
  std::shared_ptr<output_capture> out, err;
  net::steady_timer timer;
  net::steady_timer watch;  // see watch_report
  bool answered = false;
  bool stopping = false;
};

shell_session::shell_session(runtime& rt, session_options opts)
    : rt_(rt), opts_(std::move(opts)), strand_(net::make_strand(rt.io)) {
  if (opts_.cwd.empty()) opts_.cwd = rt_.cfg.workspace;
  cwd_ = opts_.cwd;
  env_ = start_environment(opts_);
}

shell_session::~shell_session() {
  if (shell_pid_ > 0) process::signal_tree(shell_pid_, SIGKILL);
  close_fd(script_fd_);
  for (int pair : {0, 1}) {
    close_fd(slots_.out[pair]);
    close_fd(slots_.err[pair]);
  }
}

std::string shell_session::cwd() const {
  std::lock_guard lock(mutex_);
  return cwd_;
}

status shell_session::start() {
  // Runs before the session is shared, so touching strand state is safe.
  struct stat st;
  if (::stat(opts_.cwd.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
    return make_error(codes::validation_failed,
                      "Failed to create session '" + opts_.id + "': working directory '" +
                          opts_.cwd + "' does not exist or is not a directory",
                      {{"sessionId", opts_.id}, {"cwd", opts_.cwd}});
  script_fd_ = memfd_create("sandboxd-command", MFD_CLOEXEC);
  if (script_fd_ < 0)
    return make_error(codes::internal_error, "Failed to create session '" + opts_.id +
                                                 "': memfd_create: " + std::strerror(errno));
  for (int pair : {0, 1}) {
    for (int* slot : {&slots_.out[pair], &slots_.err[pair]}) {
      *slot = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
      if (*slot < 0)
        return make_error(codes::internal_error, "Failed to create session '" + opts_.id +
                                                     "': open: " + std::strerror(errno));
    }
  }
  return spawn_shell();
}

status shell_session::arm(int pair) {
  disarm(pair);
  auto out = make_pipe(O_NONBLOCK);
  if (!out) return out.error();
  auto err = make_pipe(O_NONBLOCK);
  if (!err) {
    ::close(out->read), ::close(out->write);
    return err.error();
  }
  // dup3 swaps the slot's content at once: the shell, which opens the
  // slot by path, only ever sees the old pipe or the new one.
  bool swapped = ::dup3(out->write, slots_.out[pair], O_CLOEXEC) >= 0 &&
                 ::dup3(err->write, slots_.err[pair], O_CLOEXEC) >= 0;
  int dup_errno = errno;
  ::close(out->write);
  ::close(err->write);
  if (!swapped) {
    ::close(out->read), ::close(err->read);
    return make_error(codes::internal_error, std::string("dup3: ") + std::strerror(dup_errno));
  }
  auto& pipes = armed_[pair];
  pipes.out = std::make_shared<output_capture>(net::posix::stream_descriptor(strand_, out->read));
  pipes.err = std::make_shared<output_capture>(net::posix::stream_descriptor(strand_, err->read));
  pipes.out->start();
  pipes.err->start();
  return ok_status();
}

void shell_session::disarm(int pair) {
  for (auto* capture : {&armed_[pair].out, &armed_[pair].err}) {
    if (*capture) (*capture)->close();
    capture->reset();
  }
}

status shell_session::spawn_shell() {
  pair_ = 0;
  errexit_ = false;
  err_trap_ = false;
  for (int pair : {0, 1})
    if (auto s = arm(pair); !s) return s.error();
  auto in = make_pipe();
  if (!in) return in.error();
  auto ctl = make_pipe();
  if (!ctl) {
    ::close(in->read), ::close(in->write);
    return ctl.error();
  }
  process::spawn_options so;
  so.argv = {"bash", "--norc", "--noprofile"};
  so.env = start_environment(opts_);
  so.cwd = opts_.cwd;
  so.fds = {{0, in->read}, {k_control_fd, ctl->write}};
  std::weak_ptr<shell_session> weak = weak_from_this();
  auto pid = rt_.reaper.spawn(so, [weak](process::exit_status s) {
    if (auto self = weak.lock())
      net::post(self->strand_, [self, s] { self->on_shell_exit(s.shell_code()); });
  });
  ::close(in->read);
  ::close(ctl->write);
  if (!pid) {
    ::close(in->write);
    ::close(ctl->read);
    return make_error(codes::internal_error,
                      "Failed to create session '" + opts_.id + "': " + pid.error().message,
                      {{"sessionId", opts_.id}, {"originalError", pid.error().message}});
  }
  shell_pid_ = *pid;
  struct stat st;
  stdin_inode_ = ::fstat(in->write, &st) == 0 ? st.st_ino : 0;
  stdin_ = std::make_unique<net::writable_pipe>(strand_, in->write);
  control_ = std::make_unique<net::readable_pipe>(strand_, ctl->read);
  control_buf_.resize(4096);
  control_data_.clear();
  {
    std::lock_guard lock(mutex_);
    cwd_ = opts_.cwd;
  }
  write_line(preamble(daemon_pid(), script_fd_, slots_));
  read_control();
  log::debug("session shell started", {{"sessionId", opts_.id}, {"pid", shell_pid_}});
  return ok_status();
}

void shell_session::execute(command_request req, session_manager::command_done done) {
  net::post(strand_,
            [self = shared_from_this(), req = std::move(req), done = std::move(done)]() mutable {
              job j;
              j.req = std::move(req);
              j.command_done = std::move(done);
              self->queue_.push_back(std::move(j));
              self->pump();
            });
}

void shell_session::context(session_manager::context_done done) {
  if (snapshot_current_.load(std::memory_order_acquire)) {
    session_context ctx;
    {
      std::lock_guard lock(mutex_);
      ctx = session_context{cwd_, env_};
    }
    return done(std::move(ctx));
  }
  net::post(strand_, [self = shared_from_this(), done = std::move(done)]() mutable {
    // A snapshot on its way (the refresh after a command that may have
    // changed the environment): its answer is the one to give.
    job* coming = self->current_snapshot_ ? &*self->current_snapshot_
                  : !self->queue_.empty() && self->queue_.front().snapshot ? &self->queue_.front()
                                                                           : nullptr;
    if (coming) {
      coming->context_done = [first = std::move(coming->context_done),
                              then = std::move(done)](result<session_context> r) {
        first(r);
        then(std::move(r));
      };
      return;
    }
    if (self->current_ || !self->queue_.empty() || self->shell_pid_ < 0 || self->terminated_ ||
        self->snapshot_current_) {
      // Busy (or between shells): answer with what is known, never wait.
      // Idle with no command since the last snapshot: what is known is exact.
      std::lock_guard lock(self->mutex_);
      return done(session_context{self->cwd_, self->env_});
    }
    job j;
    j.snapshot = true;
    j.context_done = std::move(done);
    self->queue_.push_back(std::move(j));
    self->pump();
  });
}

void shell_session::terminate() {
  net::post(strand_, [self = shared_from_this()] {
    self->terminated_ = true;
    auto pending = std::move(self->queue_);
    self->queue_.clear();
    for (auto& j : pending) {
      if (j.command_done)
        j.command_done(
            make_error(codes::internal_error, "Session '" + self->opts_.id + "' was deleted"));
      if (j.context_done) j.context_done(make_error(codes::internal_error, "Session deleted"));
    }
    if (self->current_ && !self->current_->answered) {
      self->current_->answered = true;
      self->current_->j.command_done(
          self->command_error(self->current_->j.req.command, "Session was deleted"));
    }
    if (self->shell_pid_ > 0) process::signal_tree(self->shell_pid_, SIGKILL);
  });
}

void shell_session::pump() {
  if (terminated_ || current_ || current_snapshot_ || queue_.empty()) return;
  if (shell_pid_ < 0) {
    // First use after the shell died: a fresh shell, same id, start env/cwd.
    if (auto s = spawn_shell(); !s) {
      auto j = std::move(queue_.front());
      queue_.pop_front();
      if (j.command_done) j.command_done(s.error());
      if (j.context_done) j.context_done(s.error());
      return pump();
    }
  }
  job j = std::move(queue_.front());
  queue_.pop_front();
  if (j.snapshot)
    start_snapshot(std::move(j));
  else
    start_command(std::move(j));
}

void shell_session::start_command(job j) {
  auto cmd = std::make_unique<running_command>(strand_);
  auto fail = [&](const std::string& why) {
    j.command_done(make_error(codes::command_execution_error, why));
    pump();
  };
  // A pair left empty by a failed arm belongs to a shell being replaced.
  auto& pipes = armed_[pair_];
  if (!pipes.out || !pipes.err) return fail("the session's output pipes are unavailable");
  // An ERR trap fires for a failing eval as well as for the command that
  // failed in it; the errexit runner's eval ends in an assignment instead.
  if (j.req.command.find("ERR") != std::string::npos) err_trap_ = true;
  auto input =
      command_input_for(j.req.command, j.req.cwd, j.req.env, pair_ ^ 1, errexit_ || err_trap_);
  if (!input.script.empty()) {
    if (::ftruncate(script_fd_, 0) != 0)
      return fail(std::string("ftruncate: ") + std::strerror(errno));
    const std::string& script = input.script;
    for (std::size_t off = 0; off < script.size();) {
      ssize_t n =
          ::pwrite(script_fd_, script.data() + off, script.size() - off, static_cast<off_t>(off));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return fail(std::string("write: ") + std::strerror(errno));
      off += static_cast<std::size_t>(n);
    }
  }
  cmd->budget = std::make_shared<output_budget>();
  cmd->budget->limit = rt_.cfg.max_output_bytes;
  std::weak_ptr<shell_session> weak = weak_from_this();
  cmd->budget->on_exceeded = [weak] {
    if (auto self = weak.lock()) self->on_output_limit();
  };
  // The shell has this pair's pipes as stdout/stderr already.
  cmd->out = std::move(pipes.out);
  cmd->err = std::move(pipes.err);
  cmd->out->set_budget(cmd->budget);
  cmd->err->set_budget(cmd->budget);

  std::uint64_t timeout_ms = j.req.timeout_ms ? j.req.timeout_ms : rt_.cfg.command_timeout_ms;
  if (timeout_ms) {
    cmd->timer.expires_after(std::chrono::milliseconds(timeout_ms));
    cmd->timer.async_wait([weak](boost::system::error_code ec) {
      if (ec) return;
      if (auto self = weak.lock()) self->on_timeout();
    });
  }
  snapshot_current_ = false;  // the command may change the environment or directory
  cmd->j = std::move(j);
  current_ = std::move(cmd);
  write_line(std::move(input.line));
  watch_report(current_.get(), k_report_watch_first, false);
}

void shell_session::watch_report(running_command* cmd, std::chrono::milliseconds after,
                                 bool confirming) {
  std::weak_ptr<shell_session> weak = weak_from_this();
  cmd->watch.expires_after(confirming ? k_report_watch_confirm : after);
  cmd->watch.async_wait([weak, cmd, after, confirming](boost::system::error_code ec) {
    auto self = weak.lock();
    if (ec || !self || self->current_.get() != cmd) return;
    if (!shell_reads_commands(self->shell_pid_, self->stdin_inode_))
      return self->watch_report(cmd, std::min(after * 2, k_report_watch_max), false);
    if (confirming) return self->on_report_lost();
    // A report written just before the check may still be on its way to
    // on_control: look again once it would have arrived.
    self->watch_report(cmd, after, true);
  });
}

// The command ended without its report: it made the shell unable to give
// one (a readonly variable the runner assigns, say). Such a shell cannot run
// the next command either, so it is replaced, as after `exit`.
void shell_session::on_report_lost() {
  if (!current_ || current_->answered) return;
  current_->answered = true;
  std::string reason =
      "The command finished, but the shell could not report its exit status (the command "
      "changed something the session's shell relies on, such as making one of its __sbx_ "
      "variables readonly). The session's shell is restarted for the next command.";
  if (auto tail = stderr_tail(current_->err->finish()); !tail.empty())
    reason += " The command's stderr: " + tail;
  current_->j.command_done(command_error(current_->j.req.command, reason));
  log::warn("session shell stopped reporting; replacing it", {{"sessionId", opts_.id}});
  process::signal_tree(shell_pid_, SIGKILL);
}

void shell_session::start_snapshot(job j) {
  current_snapshot_ = std::move(j);
  write_line(snapshot_line());
}

void shell_session::write_line(std::string line) {
  auto data = std::make_shared<std::string>(std::move(line));
  net::async_write(*stdin_, net::buffer(*data), [data](boost::system::error_code, std::size_t) {
    // A failed write means the shell is gone; its exit is
    // reported through the reaper.
  });
}

void shell_session::read_control() {
  control_->async_read_some(net::buffer(control_buf_),
                            [self = shared_from_this(), pipe = control_.get()](
                                boost::system::error_code ec, std::size_t n) {
                              if (pipe != self->control_.get()) return;  // an old shell's pipe
                              if (n) self->on_control(n);
                              if (!ec && self->control_) self->read_control();
                            });
}

void shell_session::on_control(std::size_t n) {
  control_data_.append(control_buf_.data(), n);
  for (;;) {
    // Messages: C<status>[e]\0<cwd>\0 (e: errexit on), and
    // F<declare -fx>\0<cwd>\0 followed by E<export -p>\0<cwd>\0.
    auto first = control_data_.find('\0');
    if (first == std::string::npos) return;
    auto second = control_data_.find('\0', first + 1);
    if (second == std::string::npos) return;
    char kind = control_data_.empty() ? 0 : control_data_[0];
    std::string payload = control_data_.substr(1, first - 1);
    std::string cwd = control_data_.substr(first + 1, second - first - 1);
    control_data_.erase(0, second + 1);
    if (!cwd.empty()) {
      std::lock_guard lock(mutex_);
      cwd_ = cwd;
    }
    if (kind == 'C' && current_) {
      errexit_ = !payload.empty() && payload.back() == 'e';
      complete_command(std::atoi(payload.c_str()));
    } else if (kind == 'F' && current_snapshot_) {
      snapshot_functions_ = std::move(payload);
    } else if (kind == 'E' && current_snapshot_) {
      std::vector<std::string> env;
      for (const auto& [k, v] : parse_export_p(payload)) env.push_back(k + "=" + v);
      for (const auto& [k, v] : parse_exported_functions(snapshot_functions_))
        env.push_back(k + "=" + v);
      snapshot_functions_.clear();
      session_context ctx;
      {
        std::lock_guard lock(mutex_);
        env_ = env;
        ctx = session_context{cwd_, std::move(env)};
      }
      snapshot_current_ = true;
      auto j = std::move(*current_snapshot_);
      current_snapshot_.reset();
      j.context_done(std::move(ctx));
      pump();
    }
  }
}

void shell_session::complete_command(int exit_code) {
  auto cmd = std::move(current_);
  cmd->timer.cancel();
  cmd->watch.cancel();
  // The shell reports only after the command's output was written, so what
  // is in the pipes now is all of it.
  command_result result;
  result.exit_code = exit_code;
  result.out = cmd->out->finish();
  result.err = cmd->err->finish();
  if (!cmd->answered) {
    cmd->answered = true;
    if (cmd->budget->exceeded)
      cmd->j.command_done(
          command_error(cmd->j.req.command, output_limit_reason(cmd->budget->limit)));
    else
      cmd->j.command_done(std::move(result));
  }
  // After the answer: the shell is moving to the other pair now, and this
  // one gets the pipes of the command after next.
  if (auto s = arm(pair_); !s) {
    log::warn("session output pipes unavailable; replacing the shell",
              {{"sessionId", opts_.id}, {"error", s.error().message}});
    process::signal_tree(shell_pid_, SIGKILL);
  }
  pair_ ^= 1;
  // A command that may have changed the exported environment has it read
  // again before the next command: processes started while that one runs
  // get the session's environment as it is, not as it last was.
  if (may_change_environment(cmd->j.req)) {
    job refresh;
    refresh.snapshot = true;
    refresh.context_done = [](sbx::result<session_context>) {};
    queue_.push_front(std::move(refresh));
  }
  pump();
}

api_error shell_session::command_error(const std::string& command,
                                       const std::string& reason) const {
  return make_error(
      codes::command_execution_error,
      "Failed to execute command '" + command + "' in session '" + opts_.id + "': " + reason,
      {{"command", command}, {"stderr", reason}, {"sessionId", opts_.id}});
}

void shell_session::on_timeout() {
  if (!current_ || current_->answered) return;
  std::uint64_t ms =
      current_->j.req.timeout_ms ? current_->j.req.timeout_ms : rt_.cfg.command_timeout_ms;
  current_->answered = true;
  current_->j.command_done(
      command_error(current_->j.req.command,
                    "Command timeout after " + std::to_string(ms) + "ms. " + k_stopped_note));
  stop_command();
}

void shell_session::on_output_limit() {
  if (!current_ || current_->answered) return;
  current_->answered = true;
  current_->j.command_done(
      command_error(current_->j.req.command,
                    output_limit_reason(current_->budget->limit) + ". " + k_stopped_note));
  stop_command();
}

void shell_session::stop_command() {
  if (!current_ || current_->stopping) return;
  current_->stopping = true;
  // The shell would go on with the rest of the command's list once the
  // running step is gone, so it ends too: frozen at once, so that it starts
  // nothing more, while the command's processes get the grace to exit on
  // TERM; then everything left is killed and the next command gets a fresh
  // shell.
  ::kill(shell_pid_, SIGSTOP);
  for (pid_t p : process::descendants(shell_pid_)) ::kill(p, SIGTERM);
  std::weak_ptr<shell_session> weak = weak_from_this();
  auto* cmd = current_.get();
  cmd->timer.expires_after(k_term_grace);
  cmd->timer.async_wait([weak, cmd](boost::system::error_code ec) {
    auto self = weak.lock();
    if (ec || !self || self->current_.get() != cmd) return;
    process::signal_tree(self->shell_pid_, SIGKILL);
  });
}

void shell_session::on_shell_exit(int shown) {
  log::debug("session shell exited", {{"sessionId", opts_.id}, {"code", shown}});
  drop_shell();
  if (current_) {
    auto cmd = std::move(current_);
    cmd->timer.cancel();
    cmd->watch.cancel();
    if (!cmd->answered) {
      cmd->answered = true;
      std::string reason = "Shell terminated unexpectedly (exit code: " + std::to_string(shown) +
                           "). The session's shell is restarted for the next command.";
      // What the command last wrote to stderr usually says why the shell
      // ended: errexit after a failure, an unbound variable under set -u.
      if (auto tail = stderr_tail(cmd->err->finish()); !tail.empty())
        reason += " The command's stderr: " + tail;
      cmd->j.command_done(command_error(cmd->j.req.command, reason));
    }
  }
  if (current_snapshot_) {
    auto j = std::move(*current_snapshot_);
    current_snapshot_.reset();
    std::lock_guard lock(mutex_);
    j.context_done(session_context{cwd_, env_});
  }
  {
    std::lock_guard lock(mutex_);
    cwd_ = opts_.cwd;
    env_ = start_environment(opts_);
  }
  pump();
}

void shell_session::drop_shell() {
  shell_pid_ = -1;
  snapshot_current_ = false;
  boost::system::error_code ignored;
  if (stdin_) stdin_->close(ignored);
  if (control_) control_->close(ignored);
  stdin_.reset();
  control_.reset();
  control_data_.clear();
  for (int pair : {0, 1}) disarm(pair);
}

}  // namespace sbx::session
