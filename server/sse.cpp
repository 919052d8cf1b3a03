#include "server/sse.hpp"

#include <iterator>

#include "server/http_types.hpp"

namespace sbx::http {
namespace {
constexpr std::size_t k_coalesce_bytes = 16 * 1024;
}  // namespace

std::string sse_frame(const nlohmann::json& event) {
  std::string frame = "data: ";
  frame += dump_json(event);
  frame += "\n\n";
  return frame;
}

sse_channel::sse_channel(std::size_t high_water) : high_water_(high_water) {}

bool sse_channel::send(const nlohmann::json& event) {
  return send_frame(sse_frame(event));
}

bool sse_channel::send_frame(std::string frame) {
  std::unique_lock lock(mutex_);
  if (cancelled_ || closed_) return !cancelled_;
  queued_bytes_ += frame.size();
  // Small frames share a string, so a burst of them is one write buffer.
  if (!queued_.empty() && queued_.back().size() + frame.size() <= k_coalesce_bytes)
    queued_.back() += frame;
  else
    queued_.push_back(std::move(frame));
  deliver(lock);
  return true;
}

bool sse_channel::writable() const {
  std::lock_guard lock(mutex_);
  return cancelled_ || queued_bytes_ < high_water_;
}

void sse_channel::when_writable(std::function<void()> fn) {
  std::unique_lock lock(mutex_);
  if (cancelled_ || queued_bytes_ < high_water_ / 2) {
    lock.unlock();
    fn();
    return;
  }
  waiting_producer_ = std::move(fn);
}

void sse_channel::when_drained(std::function<void()> fn) {
  std::unique_lock lock(mutex_);
  if (cancelled_ || (waiting_consumer_ && queued_.empty())) {
    lock.unlock();
    fn();
    return;
  }
  waiting_drain_ = std::move(fn);
}

void sse_channel::close() {
  std::unique_lock lock(mutex_);
  if (closed_) return;
  closed_ = true;
  deliver(lock);
}

void sse_channel::on_cancel(std::function<void()> fn) {
  std::unique_lock lock(mutex_);
  if (cancelled_) {
    lock.unlock();
    fn();
    return;
  }
  cancel_fn_ = std::move(fn);
}

bool sse_channel::cancelled() const {
  std::lock_guard lock(mutex_);
  return cancelled_;
}

void sse_channel::pull(frames_fn fn) {
  std::unique_lock lock(mutex_);
  waiting_consumer_ = std::move(fn);
  if (queued_.empty() && !closed_ && waiting_drain_) {
    auto drained = std::move(waiting_drain_);
    waiting_drain_ = nullptr;
    lock.unlock();
    drained();
    return;
  }
  deliver(lock);
}

void sse_channel::cancel() {
  std::unique_lock lock(mutex_);
  if (cancelled_) return;
  cancelled_ = true;
  queued_.clear();
  queued_bytes_ = 0;
  auto on_cancel = std::move(cancel_fn_);
  auto producer = std::move(waiting_producer_);
  auto drained = std::move(waiting_drain_);
  waiting_consumer_ = nullptr;
  lock.unlock();
  if (on_cancel) on_cancel();
  if (producer) producer();
  if (drained) drained();
}

void sse_channel::take_queued(frame_list& frames, bool& end) {
  std::unique_lock lock(mutex_);
  if (cancelled_ || (queued_.empty() && !closed_)) return;
  end = closed_;
  auto more = take(lock);
  frames.insert(frames.end(), std::make_move_iterator(more.begin()),
                std::make_move_iterator(more.end()));
}

sse_channel::frame_list sse_channel::take(std::unique_lock<std::mutex>& lock) {
  frame_list frames = std::move(queued_);
  queued_.clear();
  queued_bytes_ = 0;
  std::function<void()> producer;
  if (waiting_producer_) producer = std::move(waiting_producer_), waiting_producer_ = nullptr;
  lock.unlock();
  if (producer) producer();
  return frames;
}

// Called with the lock held; releases it before running callbacks.
void sse_channel::deliver(std::unique_lock<std::mutex>& lock) {
  if (!waiting_consumer_ || (queued_.empty() && !closed_)) return;
  auto consumer = std::move(waiting_consumer_);
  waiting_consumer_ = nullptr;
  bool end = closed_;
  consumer(take(lock), end);
}

}  // namespace sbx::http
