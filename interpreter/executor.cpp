#include "interpreter/executor.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>

#include "core/log.hpp"

namespace sbx::interp {
namespace {

constexpr std::size_t k_read_chunk_bytes = 64 * 1024;
// At the end of a run only what the pipes hold is left to read (64 KiB each);
// the cap stops a background writer from holding the run open.
constexpr std::size_t k_drain_limit_bytes = 1024 * 1024;
// A result event carries at most one rendered output (a figure, a table).
constexpr std::size_t k_max_event_line_bytes = 64 * 1024 * 1024;
// Parsing and re-encoding take about 10 ms a MiB: a line this long is
// handled on the blocking pool, so that other requests are not held up.
constexpr std::size_t k_offload_line_bytes = 256 * 1024;
constexpr std::size_t k_events_per_turn_bytes = 1024 * 1024;
constexpr std::size_t k_startup_stderr_bytes = 2048;
// How long an unfinished line may wait for the rest of it.
constexpr auto k_line_hold = std::chrono::milliseconds(10);
constexpr std::size_t k_max_held_bytes = 64 * 1024;

std::size_t slot(output_stream s) {
  return s == output_stream::out ? 0 : 1;
}

void close_all(std::initializer_list<int> fds) {
  for (int fd : fds)
    if (fd >= 0) ::close(fd);
}

std::string last_line(const std::string& text) {
  auto end = text.find_last_not_of("\r\n ");
  if (end == std::string::npos) return {};
  auto start = text.rfind('\n', end);
  return text.substr(start == std::string::npos ? 0 : start + 1,
                     end + 1 - (start == std::string::npos ? 0 : start + 1));
}

std::string describe_exit(const process::exit_status& st) {
  if (st.signal) return "was killed by signal " + std::to_string(st.signal);
  return "exited with code " + std::to_string(st.code);
}

}  // namespace

executor::executor(boost::asio::thread_pool& blocking, strand& s, language lang, ready_fn on_ready,
                   exit_fn on_exit)
    : blocking_(blocking),
      strand_(s),
      lang_(lang),
      on_ready_(std::move(on_ready)),
      on_exit_(std::move(on_exit)),
      output_{boost::asio::posix::stream_descriptor(s), boost::asio::posix::stream_descriptor(s)},
      hold_timer_(s),
      events_(s),
      event_lines_(k_max_event_line_bytes),
      commands_(s),
      start_timer_(s) {}

executor::~executor() {
  close_pipes();
}

result<std::shared_ptr<executor>> executor::launch(process::reaper& reaper,
                                                   boost::asio::thread_pool& blocking, strand& s,
                                                   const launch_spec& spec, ready_fn on_ready,
                                                   exit_fn on_exit) {
  // [0]=stdout, [1]=stderr, [2]=commands, [3]=events; each {read, write}.
  int p[4][2];
  int made = 0;
  for (; made < 4; ++made)
    if (pipe2(p[made], O_CLOEXEC) != 0) break;
  if (made < 4) {
    std::string why = std::strerror(errno);
    for (int i = 0; i < made; ++i) close_all({p[i][0], p[i][1]});
    return make_error(codes::internal_error, "cannot create executor pipes: " + why);
  }
  // The daemon's ends never block: reads happen after readiness, up to EAGAIN.
  for (int fd : {p[0][0], p[1][0], p[3][0], p[2][1]}) fcntl(fd, F_SETFL, O_NONBLOCK);

  auto self =
      std::make_shared<executor>(blocking, s, spec.lang, std::move(on_ready), std::move(on_exit));
  process::spawn_options opts;
  opts.argv = spec.argv;
  opts.env = spec.env;
  opts.cwd = spec.cwd;
  opts.new_session = true;
  opts.fds = {{0, -1}, {1, p[0][1]}, {2, p[1][1]}, {3, p[2][0]}, {4, p[3][1]}};

  std::weak_ptr<executor> weak = self;
  auto pid = reaper.spawn(opts, [weak, s](process::exit_status st) {
    boost::asio::post(s, [weak, st] {
      if (auto e = weak.lock()) e->on_process_exit(st);
    });
  });
  close_all({p[0][1], p[1][1], p[2][0], p[3][1]});
  if (!pid) {
    close_all({p[0][0], p[1][0], p[2][1], p[3][0]});
    return pid.error();
  }
  self->pid_ = *pid;
  self->output_[0].assign(p[0][0]);
  self->output_[1].assign(p[1][0]);
  self->commands_.assign(p[2][1]);
  self->events_.assign(p[3][0]);
  self->arm_output(output_stream::out);
  self->arm_output(output_stream::err);
  self->arm_events();
  self->start_timer(spec.start_timeout);
  return self;
}

void executor::start_timer(std::chrono::milliseconds timeout) {
  start_timer_.expires_after(timeout);
  start_timer_.async_wait([weak = weak_from_this(), timeout](const boost::system::error_code& ec) {
    auto self = weak.lock();
    if (ec || !self || self->state_ != state::starting) return;
    self->fail_start(std::string(language_name(self->lang_)) + " executor failed to start within " +
                     std::to_string(timeout.count()) + "ms");
    self->kill();
  });
}

void executor::fail_start(std::string reason) {
  if (state_ != state::starting) return;
  log::warn("executor failed to start", {{"language", language_name(lang_)},
                                         {"pid", pid_},
                                         {"reason", reason},
                                         {"stderr", startup_stderr_}});
  auto ready = std::move(on_ready_);
  on_ready_ = nullptr;
  if (ready) ready(make_error(codes::internal_error, std::move(reason)));
}

// --- user output (fd 1 / fd 2) ---

void executor::arm_output(output_stream s) {
  auto i = slot(s);
  if (armed_[i] || !open_[i] || paused_ || state_ == state::dead) return;
  armed_[i] = true;
  output_[i].async_wait(boost::asio::posix::stream_descriptor::wait_read,
                        [self = shared_from_this(), s](const boost::system::error_code& ec) {
                          self->armed_[slot(s)] = false;
                          if (!ec) self->on_output_readable(s);
                        });
}

void executor::on_output_readable(output_stream s) {
  if (state_ == state::dead) return;
  // What is printed after an event being parsed waits for it.
  if (offloading_) {
    output_deferred_ = true;
    return;
  }
  // Both pipes, stdout first: a line and the stderr line printed after it
  // then leave in the order they were printed.
  read_output(output_stream::out, k_read_chunk_bytes);
  read_output(output_stream::err, k_read_chunk_bytes);
  if (listener_ && !listener_->accepts_output()) {
    if (!paused_) {
      paused_ = true;
      auto generation = ++pause_generation_;
      listener_->when_accepts_output([weak = weak_from_this(), generation, this_strand = &strand_] {
        boost::asio::post(*this_strand, [weak, generation] {
          auto self = weak.lock();
          if (!self || self->pause_generation_ != generation || !self->paused_) return;
          self->paused_ = false;
          self->arm_output(output_stream::out);
          self->arm_output(output_stream::err);
        });
      });
    }
    return;
  }
  arm_output(s);
}

bool executor::read_output(output_stream s, std::size_t limit) {
  auto i = slot(s);
  if (!open_[i] || !output_[i].is_open()) return false;
  char buf[k_read_chunk_bytes];
  std::size_t total = 0;
  while (total < limit) {
    ssize_t n = ::read(output_[i].native_handle(), buf, sizeof buf);
    if (n > 0) {
      total += static_cast<std::size_t>(n);
      deliver_output(s, std::string_view(buf, static_cast<std::size_t>(n)), false);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) return true;
    open_[i] = false;  // EOF (every writer gone) or a read error
    return false;
  }
  return true;
}

void executor::deliver_output(output_stream s, std::string_view bytes, bool final) {
  auto i = slot(s);
  std::string& pending = partial_utf8_[i];
  std::string text;
  if (pending.empty()) {
    // The usual case: no character left over from the last read.
    std::size_t cut = final ? bytes.size() : complete_utf8_prefix(bytes);
    text.assign(bytes.substr(0, cut));
    pending.assign(bytes.substr(cut));
  } else {
    pending.append(bytes);
    std::size_t cut = final ? pending.size() : complete_utf8_prefix(pending);
    text = pending.substr(0, cut);
    pending.erase(0, cut);
  }
  if (text.empty()) return;
  if (state_ == state::starting && s == output_stream::err) {
    startup_stderr_ += text;
    if (startup_stderr_.size() > k_startup_stderr_bytes)
      startup_stderr_.erase(0, startup_stderr_.size() - k_startup_stderr_bytes);
  }
  // Between runs there is nobody to tell (e.g. a timer of an earlier run
  // printing late): the bytes are dropped rather than leak into the next run.
  if (!listener_) return;
  // An unfinished line the other stream holds was printed before this.
  emit_held(s == output_stream::out ? output_stream::err : output_stream::out);
  std::string& held = held_[i];
  if (held.empty())
    held = std::move(text);
  else
    held += text;
  if (final || held.back() == '\n' || held.size() >= k_max_held_bytes) {
    emit_held(s);
    return;
  }
  // Complete lines leave now; only the unfinished last one waits.
  if (auto nl = held.rfind('\n'); nl != std::string::npos) {
    std::string rest = held.substr(nl + 1);
    held.resize(nl + 1);
    emit_held(s);
    held_[i] = std::move(rest);
  }
  if (hold_armed_) return;
  hold_armed_ = true;
  hold_timer_.expires_after(k_line_hold);
  hold_timer_.async_wait([weak = weak_from_this()](const boost::system::error_code& ec) {
    auto self = weak.lock();
    if (!self || ec) return;
    self->hold_armed_ = false;
    self->flush_held();
  });
}

void executor::emit_held(output_stream s) {
  std::string text = std::move(held_[slot(s)]);
  held_[slot(s)].clear();
  if (text.empty()) return;
  if (auto listener = listener_) listener->on_output(s, std::move(text));
}

void executor::flush_held() {
  emit_held(output_stream::out);
  emit_held(output_stream::err);
}

void executor::drain_output() {
  // One poll() for both pipes instead of a read() each that finds nothing.
  std::array<pollfd, 2> fds{};
  for (auto s : {output_stream::out, output_stream::err}) {
    auto i = slot(s);
    fds[i].fd = open_[i] && output_[i].is_open() ? output_[i].native_handle() : -1;
    fds[i].events = POLLIN;
  }
  bool polled = ::poll(fds.data(), fds.size(), 0) >= 0;
  for (auto s : {output_stream::out, output_stream::err}) {
    auto i = slot(s);
    if (!polled || fds[i].revents != 0) read_output(s, k_drain_limit_bytes);
    if (!partial_utf8_[i].empty()) deliver_output(s, {}, true);
  }
  flush_held();
}

// --- events (fd 4) ---

void executor::arm_events() {
  if (state_ == state::dead || !events_.is_open() || events_armed_ || offloading_) return;
  events_armed_ = true;
  events_.async_wait(boost::asio::posix::stream_descriptor::wait_read,
                     [self = shared_from_this()](const boost::system::error_code& ec) {
                       self->events_armed_ = false;
                       if (ec) return;
                       self->read_events();
                       self->arm_events();
                     });
}

bool executor::read_events() {
  handle_event_lines();  // what an offloaded line held up
  char buf[k_read_chunk_bytes];
  // A large event arrives over many turns, with other work in between.
  std::size_t budget = k_events_per_turn_bytes;
  while (!offloading_ && state_ != state::dead && events_.is_open() && budget > 0) {
    // The executor flushed what it printed before writing an event: one
    // drain of fd 1/2 serves every line a read starts. It is done before the
    // read: an executor that waits for an event to be read before it prints
    // on (as Python's does for display()) has printed nothing after it yet.
    if (!event_lines_.in_line()) {
      drained_ = false;
      drain_for_event();
    }
    ssize_t n = ::read(events_.native_handle(), buf, std::min(sizeof buf, budget));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      if (n == 0 || errno != EAGAIN) {
        // The executor closed its event pipe: it is exiting; the reaper tells us when.
        boost::system::error_code ignored;
        events_.close(ignored);
      }
      break;
    }
    budget -= static_cast<std::size_t>(n);
    event_lines_.append(std::string_view(buf, static_cast<std::size_t>(n)));
    handle_event_lines();
  }
  if (!offloading_) report_dropped_events();
  return budget == 0;
}

void executor::handle_event_lines() {
  while (!offloading_ && state_ != state::dead) {
    auto line = event_lines_.next();
    if (!line) break;
    report_dropped_events();  // before the events that came after it
    bool continued = std::exchange(partial_drained_, false);
    if (line->size() >= k_offload_line_bytes) {
      drain_for_event();
      offload_event_line(event_lines_.take_returned(), continued);
      return;
    }
    if (auto ev = parse_event_line(*line)) handle_event(std::move(*ev), std::nullopt);
    // The lines after one that began in an earlier read began later.
    if (continued) drained_ = false;
  }
  if (offloading_ || state_ == state::dead) return;
  // A line has begun to arrive: its writer is still busy with it (or just
  // done), so fd 1/2 hold what was printed before it and nothing after.
  if (event_lines_.in_line() && !partial_drained_) {
    drain_for_event();
    partial_drained_ = true;
  }
}

void executor::drain_for_event() {
  if (drained_) return;
  drained_ = true;
  if (listener_) drain_output();
}

void executor::offload_event_line(std::string line, bool continued) {
  offloading_ = true;
  boost::asio::post(blocking_, [self = shared_from_this(), listener = listener_,
                                line = std::move(line), continued]() mutable {
    auto ev = parse_event_line(line);
    std::string().swap(line);
    std::optional<std::string> prepared;
    if (ev && listener) {
      auto type = ev->find("type");
      auto id = ev->find("id");
      if (*type == "result" && id != ev->end()) {
        // What handle_event needs to know whose it is; the rest is prepared.
        nlohmann::json stub = {{"type", "result"}, {"id", std::move(*id)}};
        prepared = listener->prepare_result(std::move(*ev));
        *ev = std::move(stub);
      }
    }
    // Both owners are let go on the strand, where they live.
    auto& s = self->strand_;
    boost::asio::post(s, [self = std::move(self), listener = std::move(listener),
                          ev = std::move(ev), prepared = std::move(prepared), continued]() mutable {
      self->on_event_line_parsed(std::move(ev), std::move(prepared), continued);
    });
  });
}

void executor::on_event_line_parsed(std::optional<nlohmann::json> ev,
                                    std::optional<std::string> prepared, bool continued) {
  offloading_ = false;
  if (state_ == state::dead) return;
  if (ev) handle_event(std::move(*ev), std::move(prepared));
  if (continued) drained_ = false;
  if (exit_deferred_) {
    auto st = *std::exchange(exit_deferred_, std::nullopt);
    on_process_exit(st);
    return;
  }
  read_events();
  arm_events();
  if (output_deferred_ && !offloading_) {
    output_deferred_ = false;
    arm_output(output_stream::out);
    arm_output(output_stream::err);
  }
}

void executor::report_dropped_events() {
  if (event_lines_.dropped() == reported_drops_) return;
  reported_drops_ = event_lines_.dropped();
  log::warn("executor event line too long, dropped",
            {{"language", language_name(lang_)}, {"pid", pid_}, {"dropped", reported_drops_}});
  // The run learns of it as an error: otherwise it would end as if the
  // result or error that was dropped had never been.
  if (listener_)
    handle_event({{"type", "error"},
                  {"id", run_id_},
                  {"ename", "OutputTooLarge"},
                  {"evalue", "A result or error of this run was larger than " +
                                 std::to_string(k_max_event_line_bytes / (1024 * 1024)) +
                                 " MiB once encoded and was dropped"},
                  {"traceback", nlohmann::json::array()}},
                 std::nullopt);
}

void executor::handle_event(nlohmann::json ev, std::optional<std::string> prepared_result) {
  const auto& type = ev["type"].get_ref<const std::string&>();
  if (type == "ready") {
    if (state_ != state::starting) return;
    state_ = state::ready;
    start_timer_.cancel();
    startup_stderr_.clear();
    auto ready = std::move(on_ready_);
    on_ready_ = nullptr;
    if (ready) ready(ok_status());
    return;
  }
  if (type == "configured") {
    auto done = std::move(on_configured_);
    on_configured_ = nullptr;
    std::optional<std::string> error;
    if (auto e = ev.find("error"); e != ev.end() && e->is_string()) error = e->get<std::string>();
    if (done) done(std::move(error));
    return;
  }
  if (type != "result" && type != "error" && type != "done") return;
  auto id = ev.find("id");
  if (!listener_ || id == ev.end() || !id->is_string() || *id != run_id_) return;  // stale
  // The executor flushed fd 1/2 before writing this event: what they hold
  // now was printed before it.
  drain_for_event();
  auto listener = listener_;
  if (!listener) return;
  if (type != "result") return listener->on_event(std::move(ev));
  listener->on_result(prepared_result ? std::move(*prepared_result)
                                      : listener->prepare_result(std::move(ev)));
}

// --- commands (fd 3) ---

void executor::send(std::string line) {
  command_queue_.push_back(std::move(line));
  if (!writing_) write_next();
}

void executor::write_next() {
  if (command_queue_.empty() || state_ == state::dead || !commands_.is_open()) {
    writing_ = false;
    return;
  }
  writing_ = true;
  boost::asio::async_write(
      commands_, boost::asio::buffer(command_queue_.front()),
      [self = shared_from_this()](const boost::system::error_code& ec, std::size_t) {
        self->command_queue_.pop_front();
        if (ec) {  // the executor is gone; its exit is reported by the reaper
          self->command_queue_.clear();
          self->writing_ = false;
          return;
        }
        self->write_next();
      });
}

void executor::configure(const std::string& cwd, const std::map<std::string, std::string>& env,
                         configured_fn done) {
  on_configured_ = std::move(done);
  send(configure_command(cwd, env));
}

void executor::run(const std::string& id, const std::string& code,
                   std::shared_ptr<executor_listener> listener) {
  run_id_ = id;
  listener_ = std::move(listener);
  send(execute_command(id, code));
}

void executor::detach() {
  listener_.reset();
  run_id_.clear();
  held_ = {};
  if (paused_) {
    paused_ = false;
    ++pause_generation_;
    arm_output(output_stream::out);
    arm_output(output_stream::err);
  }
}

void executor::interrupt() {
  if (state_ != state::dead && pid_ > 0) ::kill(pid_, SIGINT);
}

void executor::kill() {
  if (state_ == state::dead) return;
  state_ = state::dead;
  listener_.reset();
  on_configured_ = nullptr;
  on_exit_ = nullptr;
  start_timer_.cancel();
  hold_timer_.cancel();
  close_pipes();
  // Walking /proc for the descendants is file I/O: off the I/O threads.
  boost::asio::post(blocking_, [pid = pid_] { process::signal_tree(pid, SIGKILL); });
}

void executor::on_process_exit(process::exit_status st) {
  if (state_ == state::dead) return;  // killed by us
  // Whatever the executor wrote before it ended still counts, an event
  // being parsed off the strand included.
  while (!offloading_ && read_events()) {
  }
  if (offloading_) {
    exit_deferred_ = st;
    return;
  }
  drain_output();
  bool was_starting = state_ == state::starting;
  state_ = state::dead;
  start_timer_.cancel();
  if (was_starting) {
    state_ = state::starting;  // fail_start only acts while starting
    auto reason = std::string(language_name(lang_)) + " executor " + describe_exit(st) +
                  " before it was ready";
    if (auto line = last_line(startup_stderr_); !line.empty()) reason += ": " + line;
    fail_start(std::move(reason));
    state_ = state::dead;
  }
  if (auto configured = std::move(on_configured_)) {
    on_configured_ = nullptr;
    configured(std::string(language_name(lang_)) + " executor " + describe_exit(st));
  }
  auto listener = std::move(listener_);
  listener_.reset();
  close_pipes();
  if (listener) listener->on_exit(st);
  auto on_exit = std::move(on_exit_);
  on_exit_ = nullptr;
  if (on_exit) on_exit(shared_from_this(), st, listener != nullptr);
}

void executor::close_pipes() {
  boost::system::error_code ignored;
  for (auto& d : output_) d.close(ignored);
  events_.close(ignored);
  commands_.close(ignored);
}

}  // namespace sbx::interp
