#include "files/read_stream.hpp"

#include <cstring>

#include <boost/asio/post.hpp>

#include "core/json_text.hpp"
#include "files/codec.hpp"
#include "files/file_io.hpp"

namespace sbx::files {
namespace {

// Chunks sent per turn on the pool before yielding the thread to other work.
constexpr int k_chunks_per_turn = 8;

class pump : public std::enable_shared_from_this<pump> {
 public:
  pump(file_source src, std::shared_ptr<http::sse_channel> channel, boost::asio::thread_pool& pool)
      : src_(std::move(src)), channel_(std::move(channel)), pool_(pool) {}

  void start() {
    channel_->send({{"type", "metadata"},
                    {"mimeType", src_.mime_type},
                    {"size", src_.size},
                    {"isBinary", src_.is_binary},
                    {"encoding", src_.is_binary ? "base64" : "utf-8"}});
    schedule();
  }

 private:
  void schedule() {
    boost::asio::post(pool_, [self = shared_from_this()] { self->turn(); });
  }

  void turn() {
    for (int i = 0; i < k_chunks_per_turn; ++i) {
      if (channel_->cancelled()) return;  // client gone: the descriptor closes with us
      if (offset_ >= src_.size) return complete();
      std::size_t want = static_cast<std::size_t>(
          std::min<std::uint64_t>(k_stream_chunk_bytes, src_.size - offset_));
      std::size_t carried = carry_.size();
      block_.resize(carried + want);
      std::memcpy(block_.data(), carry_.data(), carried);
      ssize_t n =
          read_at(src_.fd.get(), block_.data() + carried, want, static_cast<off_t>(offset_));
      if (n < 0) {
        return fail_stream(*channel_, "Failed to read chunk at offset " + std::to_string(offset_) +
                                          ": " + std::strerror(static_cast<int>(-n)));
      }
      if (n == 0) return complete();  // the file shrank since it was opened
      offset_ += static_cast<std::uint64_t>(n);
      block_.resize(carried + static_cast<std::size_t>(n));
      send_block(offset_ >= src_.size);
      if (!channel_->writable()) {
        channel_->when_writable([self = shared_from_this()] { self->schedule(); });
        return;
      }
    }
    schedule();
  }

  // Binary: base64 of the block. Text: the block up to the last whole
  // character; an incomplete one waits for the next block.
  void send_block(bool last) {
    std::string_view bytes = block_;
    if (!src_.is_binary) {
      std::size_t cut = last ? bytes.size() : utf8_cut(bytes);
      carry_.assign(bytes.substr(cut));
      bytes = bytes.substr(0, cut);
    }
    if (bytes.empty()) return;
    static constexpr std::string_view head = "data: {\"type\":\"chunk\",\"data\":";
    static constexpr std::string_view tail = "}\n\n";
    std::string frame;
    frame.reserve(head.size() + base64_encoded_size(bytes.size()) + tail.size() + 64);
    frame += head;
    if (src_.is_binary) {
      frame += '"';
      base64_append(frame, bytes);
      frame += '"';
    } else {
      append_json_string(frame, bytes);
    }
    frame += tail;
    channel_->send_frame(std::move(frame));
  }

  void complete() {
    if (!carry_.empty()) {
      block_.swap(carry_);
      carry_.clear();
      send_block(true);
    }
    channel_->send({{"type", "complete"}, {"bytesRead", offset_}});
    channel_->close();
  }

  file_source src_;
  std::shared_ptr<http::sse_channel> channel_;
  boost::asio::thread_pool& pool_;
  std::uint64_t offset_ = 0;
  std::string block_;
  std::string carry_;  // bytes of a character split by the block boundary
};

}  // namespace

void stream_file(file_source src, std::shared_ptr<http::sse_channel> channel,
                 boost::asio::thread_pool& pool) {
  std::make_shared<pump>(std::move(src), std::move(channel), pool)->start();
}

void fail_stream(http::sse_channel& channel, const std::string& message) {
  channel.send({{"type", "error"}, {"error", message}});
  channel.close();
}

}  // namespace sbx::files
