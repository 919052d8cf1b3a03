#include "process/output_log.hpp"

#include <algorithm>

namespace sbx::process {
namespace {

// Small chunks are merged so line-buffered output does not become one chunk
// (and one stream event) per line when nobody is watching.
constexpr std::size_t k_merge_below = 4096;

bool is_continuation(unsigned char c) {
  return (c & 0xC0) == 0x80;
}

}  // namespace

output_log::output_log(std::size_t capacity) : capacity_(capacity) {}

bool output_log::append(std::string_view bytes, std::uint64_t new_seq, std::uint64_t latest_seq) {
  if (bytes.empty()) return false;
  bool created = false;
  if (!chunks_.empty() && chunks_.back().seq == latest_seq &&
      chunks_.back().bytes.size() < k_merge_below) {
    chunks_.back().bytes.append(bytes);
  } else {
    chunks_.push_back(output_chunk{new_seq, end_, std::string(bytes)});
    held_ += k_chunk_overhead;
    created = true;
  }
  held_ += bytes.size();
  end_ += bytes.size();
  trim();
  return created;
}

void output_log::trim() {
  while (held_ > capacity_ && !chunks_.empty()) {
    auto& front = chunks_.front();
    std::size_t excess = held_ - capacity_;
    if (excess >= front.bytes.size()) {
      held_ -= front.bytes.size() + k_chunk_overhead;
      chunks_.pop_front();
      continue;
    }
    // Drop a prefix of the oldest chunk, ending on a character boundary.
    std::size_t cut = excess;
    while (cut < front.bytes.size() && is_continuation(front.bytes[cut])) ++cut;
    front.bytes.erase(0, cut);
    front.offset += cut;
    held_ -= cut;
    if (front.bytes.empty()) {
      held_ -= k_chunk_overhead;
      chunks_.pop_front();
    }
  }
}

void output_log::clear() {
  chunks_.clear();
  held_ = 0;
}

std::uint64_t output_log::begin_offset() const {
  return chunks_.empty() ? end_ : chunks_.front().offset;
}

std::string output_log::text() const {
  std::string out;
  out.reserve(static_cast<std::size_t>(end_ - begin_offset()));
  for (const auto& c : chunks_) out += c.bytes;
  return out;
}

std::size_t output_log::index_of(std::uint64_t pos) const {
  auto it = std::upper_bound(chunks_.begin(), chunks_.end(), pos,
                             [](std::uint64_t p, const output_chunk& c) { return p < c.offset; });
  return static_cast<std::size_t>(it - chunks_.begin()) - 1;
}

std::optional<std::uint64_t> output_log::seq_at(std::uint64_t& pos) const {
  pos = std::max(pos, begin_offset());
  if (pos >= end_) return std::nullopt;
  return chunks_[index_of(pos)].seq;
}

void output_log::read(std::uint64_t& pos, std::uint64_t before_seq, std::size_t max_bytes,
                      std::string& out) const {
  pos = std::max(pos, begin_offset());
  if (pos >= end_) return;
  std::size_t i = index_of(pos);
  const auto& first = chunks_[i];
  out.append(first.bytes, static_cast<std::size_t>(pos - first.offset));
  pos = first.offset + first.bytes.size();
  for (++i; i < chunks_.size(); ++i) {
    const auto& c = chunks_[i];
    if (c.seq >= before_seq || out.size() + c.bytes.size() > max_bytes) break;
    out += c.bytes;
    pos = c.offset + c.bytes.size();
  }
}

std::size_t utf8_incomplete_tail(std::string_view bytes) {
  // Walk back over at most 3 continuation bytes to the lead byte.
  std::size_t n = bytes.size();
  for (std::size_t back = 1; back <= 4 && back <= n; ++back) {
    auto c = static_cast<unsigned char>(bytes[n - back]);
    if (is_continuation(c)) continue;
    std::size_t need = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
    if (c >= 0xF8) need = 1;  // not a lead byte: nothing to wait for
    return need > back ? back : 0;
  }
  return 0;
}

}  // namespace sbx::process
