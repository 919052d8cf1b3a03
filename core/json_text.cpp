#include "core/json_text.hpp"

#include <algorithm>
#include <array>
#include <cstring>

#include <nlohmann/json.hpp>

#include "core/byte_scan.hpp"
#include "core/unicode.hpp"

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

// The second character of the two-character escapes (0 for the rest, which
// become \u00XX), by byte.
constexpr auto k_short_escapes = [] {
  std::array<char, 0x60> t{};
  t['"'] = '"';
  t['\\'] = '\\';
  t['\n'] = 'n';
  t['\r'] = 'r';
  t['\t'] = 't';
  t['\b'] = 'b';
  t['\f'] = 'f';
  return t;
}();

// Writes the escape of a quote, backslash or control byte at o (room for
// six bytes); returns its length.
inline std::size_t put_escape(char* o, unsigned char c) {
  static constexpr char k_hex[] = "0123456789abcdef";
  o[0] = '\\';
  if (char short_form = k_short_escapes[c]) {
    o[1] = short_form;
    return 2;
  }
  const char rest[5] = {'u', '0', '0', k_hex[c >> 4], k_hex[c & 0xF]};
  std::memcpy(o + 1, rest, 5);
  return 6;
}

constexpr char k_replacement[] = "\xEF\xBF\xBD";  // U+FFFD

// The body of a JSON string (no quotes) for `s`, handed to a sink as runs of
// input kept verbatim and escape texts. Every byte of a piece is read before
// the sink is handed anything for it.
template <bool validate_utf8, class Sink>
void escape_body(std::string_view s, Sink& sink) {
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
      sink.literal(k_replacement, 3);
      ++i;
    } else {
      sink.verbatim(s.data() + run, i - run);
      char escape[6];
      sink.literal(escape, put_escape(escape, c));
      ++i;
    }
    run = i;
  }
  sink.verbatim(s.data() + run, s.size() - run);
}

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

// append_quoted writes straight into the string: output lines are short,
// and a call per run and per escape would cost more than the bytes. Input
// goes in segments, each with room for its worst case; the loops keep their
// positions in locals (a char store could alias anything else).
constexpr std::size_t k_segment = 4096;
constexpr std::size_t k_block = 16;
// Past a segment's worst case: one 16-byte move's overhang and the end of a
// UTF-8 sequence begun inside it.
constexpr std::size_t k_segment_slack = 2 * k_block;

inline void move16(char* o, const char* p) {
  std::memcpy(o, p, k_block);
}

struct escaped {
  char* o;
  std::size_t i;
};

// Writes special byte s[i]: its escape, or (when validating) its UTF-8
// sequence or U+FFFD.
inline escaped put_special(char* o, std::string_view s, std::size_t i) {
  auto c = static_cast<unsigned char>(s[i]);
  if (c < 0x80) return {o + put_escape(o, c), i + 1};
  if (auto len = utf8_sequence(s, i)) {
    std::memcpy(o, s.data() + i, len);
    return {o + len, i + len};
  }
  std::memcpy(o, k_replacement, 3);
  return {o + 3, i + 1};
}

// Escapes s[i, stop) at o, and the rest of a UTF-8 sequence that begins
// before stop. Blocks of 16 go by 16-byte moves, which may read up to 16
// bytes past the block (hence only while 32 are left) and write up to 16
// past what is kept.
template <bool validate_utf8>
escaped escape_run(char* o, std::string_view s, std::size_t i, std::size_t stop) {
  const char* p = s.data();
  while (i + k_block <= stop && i + 2 * k_block <= s.size()) {
    auto mask = json_special_mask16<validate_utf8>(p + i);
    if (mask == 0) {  // a plain run: find its end, then one copy
      auto run = k_block + json_plain_prefix<validate_utf8>(p + i + k_block, stop - i - k_block);
      std::memcpy(o, p + i, run);
      o += run;
      i += run;
      continue;
    }
    // Each special byte of the block in turn, from the one mask.
    std::size_t pos = 0;
    for (; mask; mask &= mask - 1) {
      auto k = static_cast<std::size_t>(__builtin_ctz(mask));
      move16(o, p + i + pos);
      o += k - pos;
      auto c = static_cast<unsigned char>(p[i + k]);
      if (c >= 0x80) break;  // a sequence may run past the block
      o += put_escape(o, c);
      pos = k + 1;
    }
    if (mask) {
      auto r = put_special(o, s, i + static_cast<std::size_t>(__builtin_ctz(mask)));
      o = r.o;
      i = r.i;
      continue;
    }
    move16(o, p + i + pos);
    o += k_block - pos;
    i += k_block;
  }
  while (i < stop) {
    if (json_special<validate_utf8>(static_cast<unsigned char>(p[i]))) {
      auto r = put_special(o, s, i);
      o = r.o;
      i = r.i;
    } else {
      *o++ = p[i++];
    }
  }
  return {o, i};
}

template <bool validate_utf8>
void append_quoted(std::string& out, std::string_view s) {
  // Room for a quarter of the bytes escaped short (a line of four
  // characters each, say) and the last segment's worst case: a second
  // allocation, and the copy it makes, is rare.
  std::size_t used = out.size();
  out.resize(used + s.size() + s.size() / 4 + std::min(s.size(), k_segment) * 5 + k_segment_slack +
             2);
  out[used++] = '"';
  for (std::size_t i = 0; i < s.size();) {
    std::size_t stop = std::min(s.size(), i + k_segment);
    std::size_t need = used + (stop - i) * 6 + k_segment_slack + 1;
    if (out.size() < need) out.resize(std::max(need, out.size() + out.size() / 2));
    auto r = escape_run<validate_utf8>(out.data() + used, s, i, stop);
    used = static_cast<std::size_t>(r.o - out.data());
    i = r.i;
  }
  out.resize(used + 1);
  out[used] = '"';
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

namespace {

// The code unit of a \uXXXX escape at text[i], or -1.
long escaped_unit(std::string_view text, std::size_t i) {
  if (i + 6 > text.size() || text[i] != '\\' || text[i + 1] != 'u') return -1;
  long v = 0;
  for (std::size_t k = i + 2; k < i + 6; ++k) {
    int d = digit_value(text[k]);
    if (d < 0) return -1;
    v = v * 16 + d;
  }
  return v;
}

// `text` with every lone surrogate escape replaced by \ufffd.
std::string without_lone_surrogates(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size();) {
    if (text[i] != '\\' || i + 1 >= text.size()) {
      out += text[i++];
      continue;
    }
    long unit = escaped_unit(text, i);
    if (unit >= 0xD800 && unit <= 0xDBFF) {
      long next = escaped_unit(text, i + 6);
      if (next >= 0xDC00 && next <= 0xDFFF) {  // a pair: one code point
        out.append(text.substr(i, 12));
        i += 12;
      } else {
        out += "\\ufffd";
        i += 6;
      }
    } else if (unit >= 0xDC00 && unit <= 0xDFFF) {
      out += "\\ufffd";
      i += 6;
    } else {
      out.append(text.substr(i, 2));  // the escape's first two characters
      i += 2;
    }
  }
  return out;
}

}  // namespace

nlohmann::json parse_json_lenient(std::string_view text) {
  auto value = nlohmann::json::parse(text, nullptr, false);
  if (!value.is_discarded() || text.find("\\u") == std::string_view::npos) return value;
  return nlohmann::json::parse(without_lone_surrogates(text), nullptr, false);
}

}  // namespace sbx
