#include "files/codec.hpp"

#include <array>
#include <cstdint>
#include <cstring>

#include "core/byte_scan.hpp"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace sbx::files {
namespace {

constexpr char k_alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

// Decoding table: 0-63 sextet values, then these markers.
constexpr std::uint8_t k_skip = 64;  // whitespace
constexpr std::uint8_t k_pad = 65;   // '='
constexpr std::uint8_t k_invalid = 255;

constexpr std::array<std::uint8_t, 256> make_decode_table() {
  std::array<std::uint8_t, 256> t{};
  for (auto& v : t) v = k_invalid;
  for (std::uint8_t i = 0; i < 64; ++i) t[static_cast<unsigned char>(k_alphabet[i])] = i;
  for (unsigned char c : {' ', '\t', '\r', '\n', '\f', '\v'}) t[c] = k_skip;
  t['='] = k_pad;
  return t;
}
constexpr auto k_decode = make_decode_table();

// Length of the valid UTF-8 sequence starting at p (0 if malformed).
// `end - p` must be at least 1.
std::size_t utf8_sequence(const unsigned char* p, const unsigned char* end) {
  unsigned char c = p[0];
  std::size_t avail = static_cast<std::size_t>(end - p);
  auto cont = [&](std::size_t i) { return i < avail && (p[i] & 0xC0) == 0x80; };
  if (c < 0x80) return 1;
  if (c >= 0xC2 && c <= 0xDF) return cont(1) ? 2 : 0;
  if (c >= 0xE0 && c <= 0xEF) {
    if (avail < 2) return 0;
    unsigned char d = p[1];
    if (c == 0xE0 && d < 0xA0) return 0;  // overlong
    if (c == 0xED && d > 0x9F) return 0;  // surrogate
    return cont(1) && cont(2) ? 3 : 0;
  }
  if (c >= 0xF0 && c <= 0xF4) {
    if (avail < 2) return 0;
    unsigned char d = p[1];
    if (c == 0xF0 && d < 0x90) return 0;  // overlong
    if (c == 0xF4 && d > 0x8F) return 0;  // above U+10FFFF
    return cont(1) && cont(2) && cont(3) ? 4 : 0;
  }
  return 0;
}

}  // namespace

std::size_t base64_encoded_size(std::size_t bytes) {
  return (bytes + 2) / 3 * 4;
}

namespace {

#if defined(__x86_64__)
// Twelve bytes into sixteen characters per step (SSSE3 shuffles; the
// arithmetic is Wojciech Mula's well-known scheme). Each step loads before
// it stores, and a store ends at least four bytes before the next load
// starts whenever `o` trails `p` by a third of the input, as in place.
// Returns the number of input bytes encoded.
__attribute__((target("ssse3"))) std::size_t base64_groups_ssse3(const unsigned char* p,
                                                                 std::size_t n, char* o) {
  const __m128i spread = _mm_set_epi8(10, 11, 9, 10, 7, 8, 6, 7, 4, 5, 3, 4, 1, 2, 0, 1);
  const __m128i mask_hi = _mm_set1_epi32(0x0fc0fc00);
  const __m128i mult_hi = _mm_set1_epi32(0x04000040);
  const __m128i mask_lo = _mm_set1_epi32(0x003f03f0);
  const __m128i mult_lo = _mm_set1_epi32(0x01000010);
  const __m128i offsets =
      _mm_setr_epi8('a' - 26, '0' - 52, '0' - 52, '0' - 52, '0' - 52, '0' - 52, '0' - 52, '0' - 52,
                    '0' - 52, '0' - 52, '0' - 52, '+' - 62, '/' - 63, 'A', 0, 0);
  std::size_t i = 0;
  for (; i + 16 <= n; i += 12, o += 16) {
    __m128i in = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i));
    in = _mm_shuffle_epi8(in, spread);
    __m128i hi = _mm_mulhi_epu16(_mm_and_si128(in, mask_hi), mult_hi);
    __m128i lo = _mm_mullo_epi16(_mm_and_si128(in, mask_lo), mult_lo);
    __m128i sextets = _mm_or_si128(hi, lo);
    // Which offset each sextet needs: 0-25 'A', 26-51 'a', 52-61 '0', 62 '+', 63 '/'.
    __m128i which = _mm_subs_epu8(sextets, _mm_set1_epi8(51));
    __m128i upper = _mm_cmpgt_epi8(_mm_set1_epi8(26), sextets);
    which = _mm_or_si128(which, _mm_and_si128(upper, _mm_set1_epi8(13)));
    __m128i chars = _mm_add_epi8(sextets, _mm_shuffle_epi8(offsets, which));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(o), chars);
  }
  return i;
}

const bool k_has_ssse3 = __builtin_cpu_supports("ssse3");
#endif

// Reads each group of three before writing its four characters, so `o` may
// trail `p` in the same buffer (base64_encode_in_place).
void base64_groups(const unsigned char* p, std::size_t n, char* o) {
  std::size_t i = 0;
#if defined(__x86_64__)
  if (k_has_ssse3) {
    i = base64_groups_ssse3(p, n, o);
    o += i / 3 * 4;
  }
#endif
  for (; i + 3 <= n; i += 3) {
    std::uint32_t v = (std::uint32_t{p[i]} << 16) | (std::uint32_t{p[i + 1]} << 8) | p[i + 2];
    o[0] = k_alphabet[v >> 18];
    o[1] = k_alphabet[(v >> 12) & 63];
    o[2] = k_alphabet[(v >> 6) & 63];
    o[3] = k_alphabet[v & 63];
    o += 4;
  }
  if (n - i == 1) {
    std::uint32_t v = std::uint32_t{p[i]} << 16;
    o[0] = k_alphabet[v >> 18];
    o[1] = k_alphabet[(v >> 12) & 63];
    o[2] = o[3] = '=';
  } else if (n - i == 2) {
    std::uint32_t v = (std::uint32_t{p[i]} << 16) | (std::uint32_t{p[i + 1]} << 8);
    o[0] = k_alphabet[v >> 18];
    o[1] = k_alphabet[(v >> 12) & 63];
    o[2] = k_alphabet[(v >> 6) & 63];
    o[3] = '=';
  }
}

}  // namespace

void base64_append(std::string& out, std::string_view bytes) {
  std::size_t start = out.size();
  out.resize(start + base64_encoded_size(bytes.size()));
  base64_groups(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(),
                out.data() + start);
}

void base64_encode_in_place(char* out, std::size_t n) {
  const auto* raw = reinterpret_cast<const unsigned char*>(out + base64_encoded_size(n) - n);
  base64_groups(raw, n, out);
}

std::string base64_encode(std::string_view bytes) {
  std::string out;
  base64_append(out, bytes);
  return out;
}

std::size_t base64_decoded_bound(std::size_t text_bytes) {
  return text_bytes / 4 * 3 + 3;
}

std::optional<std::size_t> base64_decode_into(std::string_view text, char* out) {
  // Three bytes are written only after four characters were read, so the
  // output never overtakes the input: out may be text.data().
  char* o = out;
  std::uint32_t acc = 0;
  int sextets = 0;
  bool padded = false;
  for (unsigned char c : text) {
    std::uint8_t v = k_decode[c];
    if (v < 64) {
      if (padded) return std::nullopt;  // data after padding
      acc = (acc << 6) | v;
      if (++sextets == 4) {
        o[0] = static_cast<char>(acc >> 16);
        o[1] = static_cast<char>(acc >> 8);
        o[2] = static_cast<char>(acc);
        o += 3;
        acc = 0;
        sextets = 0;
      }
    } else if (v == k_pad) {
      if (sextets < 2 && !padded) return std::nullopt;
      padded = true;
    } else if (v != k_skip) {
      return std::nullopt;
    }
  }
  if (sextets == 1) return std::nullopt;
  if (sextets == 2) {
    *o++ = static_cast<char>(acc >> 4);
  } else if (sextets == 3) {
    *o++ = static_cast<char>(acc >> 10);
    *o++ = static_cast<char>(acc >> 2);
  }
  return static_cast<std::size_t>(o - out);
}

bool utf8_valid(std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const auto* end = p + s.size();
  while (p < end) {
    p += ascii_prefix(reinterpret_cast<const char*>(p), static_cast<std::size_t>(end - p));
    if (p == end) break;
    std::size_t n = utf8_sequence(p, end);
    if (n == 0) return false;
    p += n;
  }
  return true;
}

std::size_t utf8_cut(std::string_view s) {
  // A character is at most 4 bytes: look at the last 3 for a lead byte whose
  // sequence would run past the end.
  std::size_t n = s.size();
  for (std::size_t back = 1; back <= 3 && back <= n; ++back) {
    auto c = static_cast<unsigned char>(s[n - back]);
    if ((c & 0xC0) == 0x80) continue;  // continuation byte: keep looking
    std::size_t want = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
    if (want <= back) return n;  // complete (or ASCII)
    // Incomplete: hold it back only if what is there could still be valid.
    const auto* p = reinterpret_cast<const unsigned char*>(s.data()) + (n - back);
    bool could_be_valid = c >= 0xC2 && c <= 0xF4;
    if (could_be_valid && back >= 2) {
      unsigned char d = p[1];
      if ((c == 0xE0 && d < 0xA0) || (c == 0xED && d > 0x9F) || (c == 0xF0 && d < 0x90) ||
          (c == 0xF4 && d > 0x8F))
        could_be_valid = false;
    }
    return could_be_valid ? n - back : n;
  }
  return n;
}

}  // namespace sbx::files
