#pragma once
// Finds the first byte that needs attention, 16 bytes per step where SSE2 is
// available: the hot loops of file reads and output events.
#include <cstddef>
#include <cstdint>
#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace sbx {

// How many leading bytes of [p, p + n) are ASCII (below 0x80).
inline std::size_t ascii_prefix(const char* p, std::size_t n) {
  std::size_t i = 0;
#if defined(__SSE2__)
  for (; i + 16 <= n; i += 16) {
    auto v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i));
    if (auto mask = static_cast<unsigned>(_mm_movemask_epi8(v)))
      return i + static_cast<std::size_t>(__builtin_ctz(mask));
  }
#endif
  for (; i + 8 <= n; i += 8) {
    std::uint64_t w;
    std::memcpy(&w, p + i, 8);
    if (w & 0x8080808080808080ULL) break;
  }
  while (i < n && static_cast<unsigned char>(p[i]) < 0x80) ++i;
  return i;
}

// Whether a JSON string must escape byte c (or, when stop_at_high, look at
// it as part of a UTF-8 sequence).
template <bool stop_at_high>
constexpr bool json_special(unsigned char c) {
  return c < 0x20 || c == '"' || c == '\\' || (stop_at_high && c >= 0x80);
}

// Bit k set when p[k] is json_special, for the 16 bytes at p.
template <bool stop_at_high>
unsigned json_special_mask16(const char* p) {
#if defined(__SSE2__)
  auto v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
  auto control = _mm_cmpeq_epi8(_mm_min_epu8(v, _mm_set1_epi8(0x1f)), v);  // v <= 0x1f, unsigned
  auto special = _mm_or_si128(
      _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('"')), _mm_cmpeq_epi8(v, _mm_set1_epi8('\\'))),
      control);
  auto mask = static_cast<unsigned>(_mm_movemask_epi8(special));
  if constexpr (stop_at_high) mask |= static_cast<unsigned>(_mm_movemask_epi8(v));
  return mask;
#else
  unsigned mask = 0;
  for (unsigned k = 0; k < 16; ++k)
    if (json_special<stop_at_high>(static_cast<unsigned char>(p[k]))) mask |= 1u << k;
  return mask;
#endif
}

// How many leading bytes of [p, p + n) a JSON string holds as they are: none
// below 0x20, no quote, no backslash, and, when stop_at_high, none from 0x80.
template <bool stop_at_high>
std::size_t json_plain_prefix(const char* p, std::size_t n) {
  std::size_t i = 0;
  for (; i + 16 <= n; i += 16)
    if (auto mask = json_special_mask16<stop_at_high>(p + i))
      return i + static_cast<std::size_t>(__builtin_ctz(mask));
  while (i < n && !json_special<stop_at_high>(static_cast<unsigned char>(p[i]))) ++i;
  return i;
}

}  // namespace sbx
