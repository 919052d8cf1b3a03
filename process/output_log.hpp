#pragma once
// One output stream of a process (stdout or stderr), held in memory up to a
// byte bound: the newest bytes stay, the oldest are dropped. Bytes are
// addressed by absolute offset (counted from the first byte the process ever
// wrote), so every reader keeps its own position and a slow reader costs the
// process nothing.
#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>

namespace sbx::process {

// One read from the pipe (or several small ones merged). `seq` orders chunks
// across the stdout and stderr logs of one process.
struct output_chunk {
  std::uint64_t seq = 0;
  std::uint64_t offset = 0;
  std::string bytes;
};

class output_log {
 public:
  // Each chunk is charged this much on top of its bytes, so a flood of tiny
  // writes cannot hold more memory than the bound suggests.
  static constexpr std::size_t k_chunk_overhead = 64;

  explicit output_log(std::size_t capacity);

  // Appends bytes. They join the last chunk when that one is small and is
  // the latest chunk of the process (its seq == latest_seq); otherwise they
  // start a new chunk numbered new_seq. Returns true when a chunk was created.
  bool append(std::string_view bytes, std::uint64_t new_seq, std::uint64_t latest_seq);

  std::uint64_t begin_offset() const;  // first byte still held
  std::uint64_t end_offset() const { return end_; }
  bool truncated() const { return begin_offset() > 0; }
  std::size_t held() const { return held_; }
  // Drops every held byte (later reads start at the end, as truncated).
  void clear();

  // Everything still held.
  std::string text() const;

  // Seq of the chunk holding `pos`; moves pos up to the first held byte when
  // it was dropped. Nothing when pos is at the end.
  std::optional<std::uint64_t> seq_at(std::uint64_t& pos) const;

  // Appends to `out` the bytes from `pos` to the end of its chunk, then whole
  // following chunks while their seq is below `before_seq` and out stays
  // within `max_bytes`. Advances pos.
  void read(std::uint64_t& pos, std::uint64_t before_seq, std::size_t max_bytes,
            std::string& out) const;

 private:
  std::size_t index_of(std::uint64_t pos) const;  // chunk holding pos (pos must be held)
  void trim();

  std::size_t capacity_;
  std::size_t held_ = 0;  // bytes + per-chunk overhead
  std::uint64_t end_ = 0;
  std::deque<output_chunk> chunks_;
};

// Number of bytes at the end of `bytes` that start a UTF-8 sequence not yet
// complete (0-3). Held back so a character split across two reads stays whole.
std::size_t utf8_incomplete_tail(std::string_view bytes);

}  // namespace sbx::process
