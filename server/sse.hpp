#pragma once
// The one mechanism behind every streaming route: a producer pushes events,
// the transport pulls frames and writes them to the socket.
//
// Backpressure: send() never blocks; a producer that can pause (a pipe reader)
// checks writable() and parks itself with when_writable() until the socket
// has drained below the low-water mark, or (a file reader, bounding memory to
// one frame) with when_drained() until all it sent is written. Client disconnects reach
// the producer through on_cancel().
#include <cstddef>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace sbx::http {

// "data: <json>\n\n"
std::string sse_frame(const nlohmann::json& event);

class sse_channel {
 public:
  // Frames as queued, one string each: big frames reach the socket without
  // being copied together.
  using frame_list = std::vector<std::string>;
  using frames_fn = std::function<void(frame_list frames, bool end)>;

  explicit sse_channel(std::size_t high_water = 256 * 1024);

  // --- producer side (any thread) ---
  // Queues one event. Returns false once the consumer is gone.
  bool send(const nlohmann::json& event);
  bool send_frame(std::string frame);
  // True while the queued bytes are under the high-water mark.
  bool writable() const;
  // Runs fn once, when queued bytes fall under half the high-water mark or the
  // stream is cancelled (immediately if that is already so).
  void when_writable(std::function<void()> fn);
  // Runs fn once, when everything queued so far has been written out and the
  // consumer asks for more, or the stream is cancelled (immediately if that
  // is already so). A producer that waits for this keeps one frame in flight.
  void when_drained(std::function<void()> fn);
  // No more events; the stream ends after the queued ones.
  void close();
  // Runs fn once when the consumer goes away (immediately if it already has).
  void on_cancel(std::function<void()> fn);
  bool cancelled() const;

  // --- consumer side (transport) ---
  // Runs fn once with everything queued, or with end=true after close(). Runs it
  // right away if there is something to deliver, else when there is.
  void pull(frames_fn fn);
  // Appends what was queued since the last hand-off to `frames` (end=true
  // once closed and all taken), without waiting.
  void take_queued(frame_list& frames, bool& end);
  void cancel();

 private:
  void deliver(std::unique_lock<std::mutex>& lock);
  // Moves the queue out; the lock is released on return, and a producer
  // waiting for room is resumed.
  frame_list take(std::unique_lock<std::mutex>& lock);

  mutable std::mutex mutex_;
  frame_list queued_;
  std::size_t queued_bytes_ = 0;
  std::size_t high_water_;
  bool closed_ = false;
  bool cancelled_ = false;
  frames_fn waiting_consumer_;
  std::function<void()> waiting_producer_;
  std::function<void()> waiting_drain_;
  std::function<void()> cancel_fn_;
};

}  // namespace sbx::http
