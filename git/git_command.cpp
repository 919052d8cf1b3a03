#include "git/git_command.hpp"

#include "process/pipe.hpp"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <boost/asio/post.hpp>

namespace sbx::git {
namespace {

// After the child exits, helpers it left behind may still hold the pipes;
// its own output is already in them, so this is only a backstop.
constexpr std::chrono::milliseconds k_output_grace{2000};

}  // namespace

git_command::git_command(runtime& rt, command_spec spec, done_fn done)
    : spec_(std::move(spec)),
      done_(std::move(done)),
      strand_(boost::asio::make_strand(rt.io)),
      out_(strand_),
      err_(strand_),
      deadline_(strand_),
      kill_timer_(strand_),
      output_grace_(strand_) {}

result<std::shared_ptr<git_command>> git_command::start(runtime& rt, command_spec spec,
                                                        done_fn done) {
  auto out = process::make_pipe();
  if (!out) return out.error();
  auto err = process::make_pipe();
  if (!err) {
    process::close_fd(out->read);
    process::close_fd(out->write);
    return err.error();
  }
  auto self = std::make_shared<git_command>(rt, std::move(spec), std::move(done));
  self->out_.pipe.assign(out->read);
  self->err_.pipe.assign(err->read);

  process::spawn_options opts;
  opts.argv = self->spec_.argv;
  opts.env = self->spec_.env;
  opts.cwd = self->spec_.cwd;
  opts.fds = {{1, out->write}, {2, err->write}};
  auto pid = rt.reaper.spawn(opts, [self](process::exit_status s) {
    boost::asio::post(self->strand_, [self, s] { self->on_exit(s); });
  });
  // The child holds its own copies; ours must go so EOF can arrive.
  process::close_fd(out->write);
  process::close_fd(err->write);
  if (!pid) return pid.error();
  self->pid_ = *pid;

  boost::asio::post(self->strand_, [self] {
    self->read_next(self->out_);
    self->read_next(self->err_);
    self->deadline_.expires_after(self->spec_.timeout);
    self->deadline_.async_wait([self](boost::system::error_code ec) {
      if (!ec) self->on_deadline();
    });
  });
  return self;
}

void git_command::read_next(stream& s) {
  s.pipe.async_read_some(
      boost::asio::buffer(s.buf),
      [self = shared_from_this(), &s](boost::system::error_code ec, std::size_t n) {
        if (n > 0) {
          s.kept.append(s.buf, n);
          if (s.kept.size() > self->spec_.keep_bytes)
            s.kept.erase(0, s.kept.size() - self->spec_.keep_bytes);
        }
        if (!ec) return self->read_next(s);
        boost::system::error_code ignored;
        s.pipe.close(ignored);
        s.open = false;
        self->maybe_finish();
      });
}

void git_command::on_exit(process::exit_status status) {
  exited_ = true;
  outcome_.status = status;
  deadline_.cancel();
  kill_timer_.cancel();
  if (out_.open || err_.open) {
    output_grace_.expires_after(k_output_grace);
    output_grace_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
      if (ec) return;
      boost::system::error_code ignored;
      self->out_.pipe.cancel(ignored);
      self->err_.pipe.cancel(ignored);
    });
  }
  maybe_finish();
}

void git_command::on_deadline() {
  if (exited_) return;
  outcome_.timed_out = true;
  process::signal_tree(pid_, SIGTERM);
  kill_timer_.expires_after(spec_.kill_grace);
  kill_timer_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
    if (!ec && !self->exited_) process::signal_tree(self->pid_, SIGKILL);
  });
}

void git_command::kill() {
  if (pid_ > 0 && !exited_) process::signal_tree(pid_, SIGKILL);
}

void git_command::maybe_finish() {
  if (finished_ || !exited_ || out_.open || err_.open) return;
  finished_ = true;
  output_grace_.cancel();
  outcome_.out = std::move(out_.kept);
  outcome_.err = std::move(err_.kept);
  auto done = std::move(done_);
  done_ = nullptr;
  done(std::move(outcome_));
}

}  // namespace sbx::git
