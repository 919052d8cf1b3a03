#include "process/managed_process.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <limits>

#include "core/log.hpp"

namespace sbx::process {
namespace {

// A larger pipe lets a fast writer run longer between our reads. Pipes start
// at the kernel's default and grow once a read finds one full: most
// processes never write that much, and resizing costs a start two calls.
constexpr int k_pipe_bytes = 1 << 20;
constexpr std::size_t k_default_pipe_bytes = 64 * 1024;
constexpr std::size_t k_read_bytes = 128 * 1024;
// Reads per readiness event: enough to empty a full pipe in one go.
constexpr int k_reads_per_wake = 8;
// How much unsent output the primary reader may have in the logs before the
// pipes are paused. Its channel can be writable and still lag, when reading
// the pipe outruns encoding events.
constexpr std::uint64_t k_primary_lag_bytes = 2 << 20;

std::size_t bytes_available(int fd) {
  int n = 0;
  if (ioctl(fd, FIONREAD, &n) != 0) return 0;
  return n > 0 ? static_cast<std::size_t>(n) : 0;
}

}  // namespace

managed_process::managed_process(runtime& rt, std::string id, std::string command,
                                 std::string session_id, finished_fn on_finished)
    : rt_(rt),
      id_(std::move(id)),
      command_(std::move(command)),
      session_id_(std::move(session_id)),
      start_time_(std::chrono::system_clock::now()),
      on_finished_(std::move(on_finished)),
      logs_{output_log(rt.cfg.process_log_bytes), output_log(rt.cfg.process_log_bytes)} {}

managed_process::~managed_process() = default;

status managed_process::launch(spawn_options opts, std::shared_ptr<output_reader> primary) {
  int out[2], err[2];
  if (pipe2(out, O_CLOEXEC) != 0)
    return make_error(codes::internal_error, std::string("pipe: ") + std::strerror(errno));
  if (pipe2(err, O_CLOEXEC) != 0) {
    int e = errno;
    close(out[0]);
    close(out[1]);
    return make_error(codes::internal_error, std::string("pipe: ") + std::strerror(e));
  }
  opts.fds = {{1, out[1]}, {2, err[1]}};  // stdin stays /dev/null

  // The primary sees the process before any output exists.
  if (primary) {
    {
      std::lock_guard lock(mutex_);
      primary_ = primary;
    }
    attach(primary);
  }

  std::unique_lock lock(mutex_);
  // The exit callback keeps the record alive until the reaper reports; it
  // waits on mutex_ if the child exits before this function returns.
  auto pid = rt_.reaper.spawn(std::move(opts),
                              [self = shared_from_this()](exit_status st) { self->on_exit(st); });
  close(out[1]);
  close(err[1]);
  if (!pid) {
    close(out[0]);
    close(err[0]);
    return pid.error();
  }
  pid_ = *pid;
  if (status_ == process_status::starting) status_ = process_status::running;
  int fds[2] = {out[0], err[0]};
  for (int s = 0; s < 2; ++s) {
    auto& p = pipes_[s];
    p.fd = std::make_unique<boost::asio::posix::stream_descriptor>(rt_.io, fds[s]);
    boost::system::error_code ec;
    p.fd->non_blocking(true, ec);
    p.eof = false;
    p.grown = false;
    arm(s);
  }
  if (pending_signal_ != 0) {
    lock.unlock();
    auto table = scan_processes();
    lock.lock();
    auto members = tree_of(table, *pid_, !exited_);
    merge_members(kill_members_, members);
    signal_tree(kill_members_, exited_ ? 0 : *pid_, pending_signal_);
    escalate_later();
  }
  return ok_status();
}

void managed_process::finish_unstarted(process_status st, std::optional<int> exit_code,
                                       std::string stderr_text, std::string error) {
  readers to_wake;
  {
    std::lock_guard lock(mutex_);
    if (finished_) return;
    if (!stderr_text.empty()) append(static_cast<int>(output_stream::err), stderr_text);
    pipes_[1].carry.clear();
    finished_ = true;
    exited_ = true;
    status_ = killed_ ? process_status::killed : st;
    exit_code_ = exit_code;
    end_time_ = std::chrono::system_clock::now();
    error_ = std::move(error);
    to_wake = readers_;
  }
  after_finish(std::move(to_wake));
}

void managed_process::arm(int s) {
  auto& p = pipes_[s];
  if (p.eof || p.paused || p.waiting || !p.fd) return;
  p.waiting = true;
  p.fd->async_wait(boost::asio::posix::stream_descriptor::wait_read,
                   [self = shared_from_this(), s](const boost::system::error_code& ec) {
                     self->on_readable(s, ec);
                   });
}

void managed_process::on_readable(int s, const boost::system::error_code& ec) {
  readers to_wake;
  bool just_finished = false;
  {
    std::lock_guard lock(mutex_);
    auto& p = pipes_[s];
    p.waiting = false;
    if (ec == boost::asio::error::operation_aborted || !p.fd) return;
    bool grew = read_available(s);
    if (!p.eof) {
      if (primary_behind())
        p.paused = true;
      else
        arm(s);
    }
    just_finished = settle();
    if (grew || just_finished) to_wake = readers_;
  }
  if (just_finished) return after_finish(std::move(to_wake));
  for (auto& r : to_wake) r->wake();
}

bool managed_process::primary_behind() const {
  if (!primary_) return false;
  std::uint64_t lag = 0;
  for (int s = 0; s < 2; ++s)
    lag += logs_[s].end_offset() - std::min(logs_[s].end_offset(), primary_pos_.pos[s]);
  return lag > k_primary_lag_bytes || primary_->backlogged();
}

bool managed_process::read_available(int s) {
  // Reads happen under mutex_, so one buffer per thread is enough.
  thread_local std::vector<char> buf(k_read_bytes);
  auto& p = pipes_[s];
  bool grew = false;
  for (int i = 0; i < k_reads_per_wake; ++i) {
    ssize_t n = ::read(p.fd->native_handle(), buf.data(), buf.size());
    if (n > 0) {
      if (!p.grown && static_cast<std::size_t>(n) >= k_default_pipe_bytes) {
        fcntl(p.fd->native_handle(), F_SETPIPE_SZ, k_pipe_bytes);
        p.grown = true;
      }
      append(s, std::string_view(buf.data(), static_cast<std::size_t>(n)));
      grew = true;
      if (static_cast<std::size_t>(n) < buf.size()) break;
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    // End of file (or a broken pipe): whatever was held back goes out as is.
    if (!p.carry.empty()) {
      std::string rest = std::move(p.carry);
      p.carry.clear();
      if (logs_[s].append(rest, last_seq_ + 1, last_seq_)) ++last_seq_;
      grew = true;
    }
    p.eof = true;
    p.paused = false;
    p.fd.reset();
    break;
  }
  return grew;
}

void managed_process::append(int s, std::string_view bytes) {
  auto& p = pipes_[s];
  std::string joined;
  if (!p.carry.empty()) {
    joined = std::move(p.carry);
    joined.append(bytes);
    p.carry.clear();
    bytes = joined;
  }
  std::size_t tail = utf8_incomplete_tail(bytes);
  if (tail) p.carry.assign(bytes.substr(bytes.size() - tail));
  bytes.remove_suffix(tail);
  if (logs_[s].append(bytes, last_seq_ + 1, last_seq_)) ++last_seq_;
}

void managed_process::on_exit(exit_status st) {
  readers to_wake;
  bool just_finished = false;
  {
    std::lock_guard lock(mutex_);
    exited_ = true;
    exit_ = st;
    just_finished = settle();
    if (just_finished) to_wake = readers_;
  }
  if (just_finished) after_finish(std::move(to_wake));
}

bool managed_process::settle() {
  if (!exited_ || finished_) return false;
  // Everything the leader wrote before exiting is in the pipes now; what a
  // lingering grandchild writes later goes to the log only.
  for (auto& p : pipes_)
    if (!p.eof && p.fd && bytes_available(p.fd->native_handle()) > 0) return false;
  for (int s = 0; s < 2; ++s) {
    auto& p = pipes_[s];
    if (p.carry.empty()) continue;
    std::string rest = std::move(p.carry);
    p.carry.clear();
    if (logs_[s].append(rest, last_seq_ + 1, last_seq_)) ++last_seq_;
  }
  finished_ = true;
  end_time_ = std::chrono::system_clock::now();
  exit_code_ = exit_.shell_code();
  if (killed_)
    status_ = process_status::killed;
  else
    status_ = *exit_code_ == 0 ? process_status::completed : process_status::failed;
  return true;
}

void managed_process::after_finish(readers to_wake) {
  for (auto& r : to_wake) r->wake();
  if (on_finished_) on_finished_(shared_from_this());
}

process_info managed_process::info() const {
  std::lock_guard lock(mutex_);
  process_info i;
  i.id = id_;
  i.pid = pid_;
  i.command = command_;
  i.session_id = session_id_;
  i.status = status_;
  i.start_time = start_time_;
  i.end_time = end_time_;
  i.exit_code = exit_code_;
  i.error = error_;
  return i;
}

process_logs managed_process::logs() const {
  std::lock_guard lock(mutex_);
  return process_logs{id_, logs_[0].text(), logs_[1].text(), logs_[0].truncated(),
                      logs_[1].truncated()};
}

bool managed_process::finished() const {
  std::lock_guard lock(mutex_);
  return finished_;
}

std::size_t managed_process::held_log_bytes() const {
  std::lock_guard lock(mutex_);
  return logs_[0].held() + logs_[1].held();
}

std::size_t managed_process::release_logs() {
  std::lock_guard lock(mutex_);
  if (!finished_ || !readers_.empty()) return 0;
  std::size_t freed = logs_[0].held() + logs_[1].held();
  logs_[0].clear();
  logs_[1].clear();
  return freed;
}

bool managed_process::running() const {
  std::lock_guard lock(mutex_);
  return !finished_ && !killed_ && !exited_;
}

managed_process::kill_outcome managed_process::kill(int sig, const std::vector<proc_entry>& table) {
  std::lock_guard lock(mutex_);
  if (finished_ || exited_) {
    // Ended by itself (or never ran); what it started in the background
    // (`server &`) may live on in its process group, and is still its to
    // stop. The record keeps its status: its own command did end.
    if (!pid_) return kill_outcome::not_running;
    auto left = tree_of(table, *pid_, false);
    if (left.empty()) return kill_outcome::not_running;
    merge_members(kill_members_, left);
    signal_tree(left, 0, sig);
    escalate_later();
    return kill_outcome::signalled;
  }
  killed_ = true;
  status_ = process_status::killed;
  if (!pid_) {
    pending_signal_ = sig;
    return kill_outcome::signalled;
  }
  merge_members(kill_members_, tree_of(table, *pid_, !exited_));
  signal_tree(kill_members_, exited_ ? 0 : *pid_, sig);
  escalate_later();
  return kill_outcome::signalled;
}

void managed_process::escalate_later() {
  if (escalation_) return;
  escalation_ = std::make_unique<boost::asio::steady_timer>(
      rt_.io, std::chrono::milliseconds(rt_.cfg.kill_grace_ms));
  escalation_->async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
    if (!ec) self->escalate();
  });
}

void managed_process::escalate() {
  {
    std::lock_guard lock(mutex_);
    // The usual case: the tree went down with the first signal. Checking the
    // known members and the process group costs a few syscalls; the /proc walk
    // that finds stragglers runs only when something may remain.
    if (exited_ && !any_alive(kill_members_) && ::kill(-*pid_, 0) != 0) return;
  }
  boost::asio::post(rt_.blocking, [self = shared_from_this()] {
    auto table = scan_processes();
    std::lock_guard lock(self->mutex_);
    merge_members(self->kill_members_, tree_of(table, *self->pid_, !self->exited_));
    if (!any_alive(self->kill_members_)) return;
    log::info("process did not stop in time, killing",
              {{"processId", self->id_}, {"pid", *self->pid_}});
    signal_tree(self->kill_members_, self->exited_ ? 0 : *self->pid_, SIGKILL);
  });
}

std::vector<tree_member> managed_process::signal_remains(int sig,
                                                         const std::vector<proc_entry>& table) {
  std::lock_guard lock(mutex_);
  if (!pid_) return {};
  bool lingering = !exited_ || !pipes_[0].eof || !pipes_[1].eof || !kill_members_.empty();
  if (!lingering) return {};
  if (!exited_) {
    killed_ = true;
    status_ = process_status::killed;
  }
  merge_members(kill_members_, tree_of(table, *pid_, !exited_));
  signal_tree(kill_members_, exited_ ? 0 : *pid_, sig);
  return kill_members_;
}

void managed_process::attach(std::shared_ptr<output_reader> reader) {
  {
    std::lock_guard lock(mutex_);
    readers_.push_back(reader);
  }
  reader->attached(shared_from_this());
  reader->wake();
}

void managed_process::detach(const output_reader* reader) {
  std::shared_ptr<output_reader> gone;  // released after the lock
  bool was_primary = false;
  {
    std::lock_guard lock(mutex_);
    auto it = std::find_if(readers_.begin(), readers_.end(),
                           [&](const auto& r) { return r.get() == reader; });
    if (it != readers_.end()) {
      gone = std::move(*it);
      readers_.erase(it);
    }
    if (primary_.get() == reader) {
      primary_.reset();
      was_primary = true;
    }
  }
  if (was_primary) resume_reading();
}

void managed_process::resume_reading() {
  std::lock_guard lock(mutex_);
  for (int s = 0; s < 2; ++s) {
    if (!pipes_[s].paused) continue;
    pipes_[s].paused = false;
    arm(s);
  }
}

std::optional<output_piece> managed_process::next(log_cursor& cursor, std::size_t max_bytes,
                                                  bool& done, bool primary) {
  std::lock_guard lock(mutex_);
  if (primary) primary_pos_ = cursor;
  // Output this reader had not reached when the log let it go: the reader
  // is told, on stderr, instead of its stream silently jumping ahead.
  for (int s = 0; s < 2; ++s) {
    auto held_from = logs_[s].begin_offset();
    if (cursor.pos[s] >= held_from) continue;
    auto skipped = held_from - cursor.pos[s];
    cursor.pos[s] = held_from;
    done = false;
    output_piece notice;
    notice.stream = output_stream::err;
    notice.data = "\n[sandboxd: " + std::to_string(skipped) + " bytes of " +
                  (s == 0 ? "stdout" : "stderr") +
                  " are missing here: they were dropped from the process's log (which keeps " +
                  std::to_string(rt_.cfg.process_log_bytes) +
                  " bytes per stream) before this reader got to them]\n";
    return notice;
  }
  auto out_seq = logs_[0].seq_at(cursor.pos[0]);
  auto err_seq = logs_[1].seq_at(cursor.pos[1]);
  if (!out_seq && !err_seq) {
    done = finished_;
    return std::nullopt;
  }
  done = false;
  constexpr auto none = std::numeric_limits<std::uint64_t>::max();
  int s = (!err_seq || (out_seq && *out_seq < *err_seq)) ? 0 : 1;
  std::uint64_t other = s == 0 ? err_seq.value_or(none) : out_seq.value_or(none);
  output_piece piece;
  piece.stream = static_cast<output_stream>(s);
  logs_[s].read(cursor.pos[s], other, max_bytes, piece.data);
  if (primary) primary_pos_ = cursor;
  return piece;
}

}  // namespace sbx::process
