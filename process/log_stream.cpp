#include "process/log_stream.hpp"

#include "core/clock.hpp"
#include "core/json_text.hpp"

namespace sbx::process {
namespace {

// Neighbouring chunks are merged into one event up to this size while a
// stream catches up; a single read may still make a larger event.
constexpr std::size_t k_event_bytes = 64 * 1024;

const char* stream_name(output_stream s) {
  return s == output_stream::out ? "stdout" : "stderr";
}

}  // namespace

log_stream::log_stream(std::shared_ptr<http::sse_channel> channel, style s)
    : channel_(std::move(channel)), style_(s) {}

void log_stream::attached(std::shared_ptr<managed_process> p) {
  {
    std::lock_guard lock(mutex_);
    process_ = std::move(p);
  }
  channel_->on_cancel([weak = weak_from_this()] {
    if (auto self = weak.lock()) self->stop();
  });
}

// Runs step() on one thread at a time; a wake-up that arrives meanwhile makes
// the running pump go round once more instead of waiting for it.
void log_stream::pump() {
  auto self = shared_from_this();
  {
    std::lock_guard lock(mutex_);
    if (pumping_) {
      again_ = true;
      return;
    }
    pumping_ = true;
  }
  for (;;) {
    step();
    std::lock_guard lock(mutex_);
    if (!again_) {
      pumping_ = false;
      return;
    }
    again_ = false;
  }
}

void log_stream::step() {
  {
    std::lock_guard lock(mutex_);
    if (done_ || !process_) return;
  }
  if (!started_) {
    channel_->send(first_event(process_->info()));
    started_ = true;
  }
  while (channel_->writable()) {
    bool finished = false;
    auto piece = process_->next(cursor_, k_event_bytes, finished, style_ == style::exec);
    if (piece) {
      if (!channel_->send_frame(output_frame(*piece))) return;  // client gone
      continue;
    }
    if (finished) {
      channel_->send(last_event(process_->info()));
      channel_->close();
      stop();
      return;
    }
    // Caught up: the pipes may run again.
    if (style_ == style::exec) process_->resume_reading();
    return;
  }
  channel_->when_writable([weak = weak_from_this()] {
    if (auto self = weak.lock()) self->pump();
  });
}

void log_stream::stop() {
  auto self = shared_from_this();
  std::shared_ptr<managed_process> p;
  {
    std::lock_guard lock(mutex_);
    if (done_) return;
    done_ = true;
    p = process_;
  }
  if (p) p->detach(this);
}

nlohmann::json log_stream::first_event(const process_info& p) const {
  if (style_ == style::exec)
    return {{"type", "start"}, {"command", p.command}, {"timestamp", iso_now()}};
  return {{"type", "process_info"},
          {"processId", p.id},
          {"command", p.command},
          {"status", to_string(p.status)},
          {"timestamp", iso_now()}};
}

std::string log_stream::output_frame(const output_piece& piece) const {
  std::string frame;
  // Escaping rarely grows text much; one reservation covers the usual case.
  frame.reserve(piece.data.size() + piece.data.size() / 8 + 160);
  frame += "data: {\"type\":\"";
  frame += stream_name(piece.stream);
  frame += "\",\"data\":";
  append_json_string(frame, piece.data);
  if (style_ == style::process_logs) {
    frame += ",\"processId\":";
    append_json_string(frame, process_->id());
  }
  frame += ",\"timestamp\":\"";
  frame += iso_now();
  frame += "\"}\n\n";
  return frame;
}

nlohmann::json log_stream::last_event(const process_info& p) const {
  if (style_ == style::exec) {
    if (!p.exit_code) {
      // Q19: never a `complete` without an exit code.
      std::string why = p.error.empty() ? "Command did not run" : p.error;
      return {{"type", "error"}, {"error", why}, {"data", why}, {"timestamp", iso_now()}};
    }
    return {{"type", "complete"}, {"exitCode", *p.exit_code}, {"timestamp", iso_now()}};
  }
  nlohmann::json e = {{"type", "exit"}, {"processId", p.id}};
  if (p.exit_code) {
    e["exitCode"] = *p.exit_code;
    e["data"] = "Process " + std::string(to_string(p.status)) + " with exit code " +
                std::to_string(*p.exit_code);
  } else {
    e["data"] = "Process " + std::string(to_string(p.status)) +
                (p.error.empty() ? std::string() : ": " + p.error);
  }
  e["timestamp"] = iso_now();
  return e;
}

}  // namespace sbx::process
