#include "files/read_stream.hpp"

#include <cstring>

#include <boost/asio/post.hpp>

#include "core/json_text.hpp"
#include "files/codec.hpp"
#include "files/file_io.hpp"

namespace sbx::files {
namespace {

// One frame is in flight at a time: the next block is read only once the
// last frame has been written to the socket, so a stream of any size holds
// one frame's memory (binary blocks are read straight into the frame and
// base64-encoded where they lie).
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
  static constexpr std::string_view k_head = "data: {\"type\":\"chunk\",\"data\":";
  static constexpr std::string_view k_tail = "}\n\n";

  void schedule() {
    boost::asio::post(pool_, [self = shared_from_this()] { self->turn(); });
  }

  void turn() {
    if (channel_->cancelled()) return;  // client gone: the descriptor closes with us
    if (offset_ >= src_.size) return complete();
    std::size_t want = static_cast<std::size_t>(
        std::min<std::uint64_t>(k_stream_chunk_bytes, src_.size - offset_));
    bool sent = src_.is_binary ? send_binary(want) : send_text(want);
    if (!sent) return;
    channel_->when_drained([self = shared_from_this()] { self->schedule(); });
  }

  // Reads `want` bytes at offset_. False (and the stream ended) on failure.
  bool read_block(char* into, std::size_t want, std::size_t& got) {
    ssize_t n = read_at(src_.fd.get(), into, want, static_cast<off_t>(offset_));
    if (n < 0) {
      fail_stream(*channel_, "Failed to read chunk at offset " + std::to_string(offset_) + ": " +
                                 std::strerror(static_cast<int>(-n)));
      return false;
    }
    if (n == 0) {  // the file shrank since it was opened
      complete();
      return false;
    }
    got = static_cast<std::size_t>(n);
    offset_ += got;
    return true;
  }

  // The frame is laid out first; the block is read into the end of its
  // base64 field and encoded there.
  bool send_binary(std::size_t want) {
    std::string frame(k_head.size() + 1 + base64_encoded_size(want) + 1 + k_tail.size(), '\0');
    char* field = frame.data() + k_head.size() + 1;
    std::size_t got = 0;
    if (!read_block(field + base64_encoded_size(want) - want, want, got)) return false;
    if (got < want) {  // a short read: the block moves to where its encoding ends
      std::memmove(field + base64_encoded_size(got) - got, field + base64_encoded_size(want) - want,
                   got);
    }
    base64_encode_in_place(field, got);
    send_laid_out(std::move(frame), base64_encoded_size(got));
    return true;
  }

  // Sends a frame whose string field of `len` bytes starts after the head
  // and its quote: fills in the head, the quotes and the tail around it.
  void send_laid_out(std::string frame, std::size_t len) {
    char* field = frame.data() + k_head.size() + 1;
    std::memcpy(frame.data(), k_head.data(), k_head.size());
    field[-1] = '"';
    field[len] = '"';
    std::memcpy(field + len + 1, k_tail.data(), k_tail.size());
    frame.resize(k_head.size() + 1 + len + 1 + k_tail.size());
    channel_->send_frame(std::move(frame));
  }

  // Text: the carry and the new block are read to the end of the room the
  // escaped body may take, and escaped over themselves from its start. A
  // block ends at its last whole character; an incomplete one waits for the
  // next block.
  bool send_text(std::size_t want) {
    std::size_t carried = carry_.size();
    std::size_t raw = carried + want;
    std::size_t room = raw + raw / 8 + 64;  // what the escapes of ordinary text need
    std::string frame(k_head.size() + 1 + room + 1 + k_tail.size(), '\0');
    char* body = frame.data() + k_head.size() + 1;
    char* in = body + room - raw;
    std::memcpy(in, carry_.data(), carried);
    std::size_t got = 0;
    if (!read_block(in + carried, want, got)) return false;
    std::size_t n = carried + got;
    std::size_t cut = offset_ >= src_.size ? n : utf8_cut(std::string_view(in, n));
    carry_.assign(in + cut, n - cut);
    if (cut == 0) return true;
    std::size_t len = json_body_size(std::string_view(in, cut));
    if (len > room) {  // mostly escapes: built beside the block instead
      send_text_copy(std::string_view(in, cut));
      return true;
    }
    char* start = body + len - cut;  // the text ends where its body will
    std::memmove(start, in, cut);
    escape_json_body_in_place(body, start, cut);
    send_laid_out(std::move(frame), len);
    return true;
  }

  void send_text_copy(std::string_view text) {
    std::string frame;
    frame.reserve(k_head.size() + text.size() + k_tail.size() + 64);
    frame += k_head;
    append_json_string(frame, text);
    frame += k_tail;
    channel_->send_frame(std::move(frame));
  }

  void complete() {
    if (!carry_.empty()) {  // the file shrank inside a character
      send_text_copy(carry_);
      carry_.clear();
    }
    channel_->send({{"type", "complete"}, {"bytesRead", offset_}});
    channel_->close();
  }

  file_source src_;
  std::shared_ptr<http::sse_channel> channel_;
  boost::asio::thread_pool& pool_;
  std::uint64_t offset_ = 0;
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
