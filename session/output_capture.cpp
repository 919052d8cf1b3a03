#include "session/output_capture.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

namespace sbx::session {

namespace {
// One read's worth; the pipe holds 64 KiB by default.
constexpr std::size_t k_read_size = 64 * 1024;
// Read at most this much per readiness, then wait again (the wait re-arms
// at once while data remains): a writer that never pauses, such as a
// background `yes`, cannot hold the I/O thread.
constexpr std::size_t k_batch_bytes = 16 * k_read_size;
}  // namespace

output_capture::output_capture(boost::asio::posix::stream_descriptor pipe)
    : pipe_(std::move(pipe)) {}

void output_capture::start() {
  wait_readable();
}

void output_capture::set_budget(std::shared_ptr<output_budget> budget) {
  budget_ = std::move(budget);
}

void output_capture::wait_readable() {
  pipe_.async_wait(
      boost::asio::posix::stream_descriptor::wait_read,
      [self = shared_from_this()](boost::system::error_code ec) { self->on_readable(ec); });
}

void output_capture::on_readable(boost::system::error_code ec) {
  if (ec || !pipe_.is_open()) return;  // cancelled or closed
  if (drain_readable(k_batch_bytes)) wait_readable();
}

bool output_capture::drain_readable(std::size_t max_bytes) {
  if (!pipe_.is_open()) return false;
  char buf[k_read_size];
  for (std::size_t total = 0; total < max_bytes;) {
    ssize_t n = ::read(pipe_.native_handle(), buf, std::min(sizeof buf, max_bytes - total));
    if (n > 0) {
      append(buf, static_cast<std::size_t>(n));
      total += static_cast<std::size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return true;
    close();  // EOF (or an error: nothing more can come)
    return false;
  }
  return true;
}

std::string output_capture::finish() {
  // The command wrote its output before the shell reported, so all of it
  // that is still unread fits in the pipe; more than that came later. These
  // pipes keep the default size, so it is asked once.
  static const int capacity = ::fcntl(pipe_.native_handle(), F_GETPIPE_SZ);
  drain_readable(capacity > 0 ? static_cast<std::size_t>(capacity) : k_read_size);
  discarding_ = true;
  std::string out = std::move(data_);
  data_ = std::string();
  return out;
}

void output_capture::close() {
  boost::system::error_code ignored;
  pipe_.close(ignored);
}

void output_capture::append(const char* data, std::size_t n) {
  if (discarding_ || !budget_) return;
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

}  // namespace sbx::session
