#include "core/json_text.hpp"

#include <cstring>

#include "core/byte_scan.hpp"

namespace sbx {
namespace {

// Length of the valid UTF-8 sequence starting at s[i] (a byte >= 0x80), or 0.
std::size_t utf8_sequence(std::string_view s, std::size_t i) {
  auto at = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  unsigned char c = at(i);
  std::size_t len = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 ? 2 : 0;
  if (len == 0 || c > 0xF4 || i + len > s.size()) return 0;
  for (std::size_t k = 1; k < len; ++k)
    if ((at(i + k) & 0xC0) != 0x80) return 0;
  unsigned char c1 = at(i + 1);
  if (c == 0xE0 && c1 < 0xA0) return 0;  // overlong
  if (c == 0xED && c1 > 0x9F) return 0;  // surrogate
  if (c == 0xF0 && c1 < 0x90) return 0;  // overlong
  if (c == 0xF4 && c1 > 0x8F) return 0;  // beyond U+10FFFF
  return len;
}

// The body of a JSON string (no quotes) for `s`, handed to a sink as runs of
// input kept verbatim and escape texts. Every byte of a piece is read before
// the sink is handed anything for it.
template <bool validate_utf8, class Sink>
void escape_body(std::string_view s, Sink& sink) {
  static constexpr char k_hex[] = "0123456789abcdef";
  std::size_t run = 0;  // start of bytes copied verbatim
  for (std::size_t i = 0; i < s.size();) {
    i += json_plain_prefix<validate_utf8>(s.data() + i, s.size() - i);
    if (i >= s.size()) break;
    auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x80) {  // only stopped at when validating
      if (auto len = utf8_sequence(s, i)) {
        i += len;  // well-formed: stays in the verbatim run
        continue;
      }
      sink.verbatim(s.data() + run, i - run);
      sink.literal("\xEF\xBF\xBD", 3);
      ++i;
    } else {
      sink.verbatim(s.data() + run, i - run);
      switch (c) {
        case '"':
          sink.literal("\\\"", 2);
          break;
        case '\\':
          sink.literal("\\\\", 2);
          break;
        case '\n':
          sink.literal("\\n", 2);
          break;
        case '\r':
          sink.literal("\\r", 2);
          break;
        case '\t':
          sink.literal("\\t", 2);
          break;
        case '\b':
          sink.literal("\\b", 2);
          break;
        case '\f':
          sink.literal("\\f", 2);
          break;
        default: {
          const char u[6] = {'\\', 'u', '0', '0', k_hex[c >> 4], k_hex[c & 0xF]};
          sink.literal(u, 6);
        }
      }
      ++i;
    }
    run = i;
  }
  sink.verbatim(s.data() + run, s.size() - run);
}

struct append_sink {
  std::string& out;
  void verbatim(const char* p, std::size_t n) { out.append(p, n); }
  void literal(const char* p, std::size_t n) { out.append(p, n); }
};

struct count_sink {
  std::size_t n = 0;
  void verbatim(const char*, std::size_t len) { n += len; }
  void literal(const char*, std::size_t len) { n += len; }
};

// Writes at `o`, which never passes the input still to be read (see
// escape_json_body_in_place); runs may overlap their source, hence memmove.
struct in_place_sink {
  char* o;
  void verbatim(const char* p, std::size_t n) {
    if (o != p) std::memmove(o, p, n);
    o += n;
  }
  void literal(const char* p, std::size_t n) {
    std::memcpy(o, p, n);
    o += n;
  }
};

template <bool validate_utf8>
void append_quoted(std::string& out, std::string_view s) {
  out.reserve(out.size() + s.size() + 2);
  out.push_back('"');
  append_sink sink{out};
  escape_body<validate_utf8>(s, sink);
  out.push_back('"');
}

}  // namespace

void append_json_string(std::string& out, std::string_view bytes) {
  append_quoted<true>(out, bytes);
}

void append_json_string_utf8(std::string& out, std::string_view text) {
  append_quoted<false>(out, text);
}

std::size_t json_body_size(std::string_view bytes) {
  count_sink sink;
  escape_body<true>(bytes, sink);
  return sink.n;
}

void escape_json_body_in_place(char* out, const char* in, std::size_t n) {
  in_place_sink sink{out};
  escape_body<true>(std::string_view(in, n), sink);
}

}  // namespace sbx
