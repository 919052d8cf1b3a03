#pragma once
// Small pieces of text decoding shared by the parsers of escapes (JSON \u,
// bash $'...', URL %XX).
#include <string>

namespace sbx {

// The value of digit `c` in `base` (at most 16), or -1 when it is not one.
inline int digit_value(char c, int base = 16) {
  int v = c >= '0' && c <= '9'   ? c - '0'
          : c >= 'a' && c <= 'f' ? c - 'a' + 10
          : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                 : 99;
  return v < base ? v : -1;
}

// Code point `cp` as UTF-8, one byte at a time through put(char). Nothing for
// a value past U+10FFFF.
template <class Put>
void put_utf8(char32_t cp, Put&& put) {
  if (cp < 0x80) {
    put(static_cast<char>(cp));
  } else if (cp < 0x800) {
    put(static_cast<char>(0xC0 | (cp >> 6)));
    put(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    put(static_cast<char>(0xE0 | (cp >> 12)));
    put(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    put(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp <= 0x10FFFF) {
    put(static_cast<char>(0xF0 | (cp >> 18)));
    put(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    put(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    put(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

inline void append_utf8(std::string& out, char32_t cp) {
  put_utf8(cp, [&out](char c) { out += c; });
}

}  // namespace sbx
