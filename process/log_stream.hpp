#pragma once
// Feeds one process's output to one SSE channel: everything still held from
// the start, then live output, then the completion event. Each stream keeps
// its own position, so any number of them can follow one process; a stream
// whose client is slow parks on the channel (the process never waits for it),
// and one whose client went away detaches at once.
//
// Two event dialects: the process log stream (API.md §6.8) and the exec
// stream (§5.3). The exec stream is its process's primary reader: while it
// is behind, the process stops reading its pipes.
#include <memory>
#include <mutex>

#include <nlohmann/json.hpp>

#include "process/managed_process.hpp"
#include "process/process_types.hpp"
#include "server/sse.hpp"

namespace sbx::process {

class log_stream : public output_reader, public std::enable_shared_from_this<log_stream> {
 public:
  enum class style { process_logs, exec };

  log_stream(std::shared_ptr<http::sse_channel> channel, style s);

  void attached(std::shared_ptr<managed_process> p) override;
  void wake() override { pump(); }
  bool backlogged() const override { return !channel_->writable(); }

 private:
  void pump();
  void step();
  void stop();

  nlohmann::json first_event(const process_info& p) const;
  std::string output_frame(const output_piece& piece) const;  // built by hand: the hot path
  nlohmann::json last_event(const process_info& p) const;

  const std::shared_ptr<http::sse_channel> channel_;
  const style style_;
  std::shared_ptr<managed_process> process_;
  log_cursor cursor_;     // only touched by the one pumping thread
  bool started_ = false;  // likewise

  std::mutex mutex_;
  bool pumping_ = false;
  bool again_ = false;
  bool done_ = false;
};

}  // namespace sbx::process
