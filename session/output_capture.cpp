#include "session/output_capture.hpp"

#include <unistd.h>

#include <cerrno>

namespace sbx::session {

output_capture::output_capture(executor ex, int read_fd, std::shared_ptr<output_budget> budget)
    : pipe_(ex, read_fd), budget_(std::move(budget)) {}

void output_capture::start() {
  read_next();
}

void output_capture::read_next() {
  pipe_.async_read_some(boost::asio::buffer(buf_),
                        [self = shared_from_this()](boost::system::error_code ec, std::size_t n) {
                          self->on_read(ec, n);
                        });
}

void output_capture::on_read(boost::system::error_code ec, std::size_t n) {
  if (n) append(buf_, n);
  if (finish_) {
    // The read that was in flight has delivered its bytes; the rest of the
    // command's output is already in the pipe.
    drain_readable();
    discarding_ = true;
    auto done = std::move(finish_);
    finish_ = nullptr;
    done(std::move(data_));
    data_.clear();
    data_.shrink_to_fit();
    if (ec && ec != boost::asio::error::operation_aborted) return close_pipe();
    return read_next();
  }
  if (ec) return close_pipe();
  read_next();
}

void output_capture::close_pipe() {
  boost::system::error_code ignored;
  pipe_.close(ignored);
}

void output_capture::append(const char* data, std::size_t n) {
  if (discarding_) return;
  if (budget_->limit && budget_->used + n > budget_->limit) {
    // Keep the bytes within the budget, then report once.
    std::size_t room = static_cast<std::size_t>(budget_->limit - budget_->used);
    data_.append(data, room);
    budget_->used = budget_->limit;
    if (!budget_->exceeded) {
      budget_->exceeded = true;
      if (budget_->on_exceeded) budget_->on_exceeded();
    }
    return;
  }
  budget_->used += n;
  data_.append(data, n);
}

void output_capture::drain_readable() {
  if (!pipe_.is_open()) return;
  for (;;) {
    ssize_t n = ::read(pipe_.native_handle(), buf_, sizeof buf_);
    if (n > 0) {
      append(buf_, static_cast<std::size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    return;  // EAGAIN: nothing more written yet; 0: EOF
  }
}

void output_capture::finish(std::function<void(std::string)> done) {
  if (!pipe_.is_open()) {
    // EOF already seen: everything is in data_.
    discarding_ = true;
    done(std::move(data_));
    return;
  }
  finish_ = std::move(done);
  boost::system::error_code ignored;
  pipe_.cancel(ignored);
}

}  // namespace sbx::session
