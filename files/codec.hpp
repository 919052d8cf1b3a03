#pragma once
// Byte-level encodings the file routes need at disk speed: base64, UTF-8
// checks and JSON string escaping. Plain table loops, no allocation beyond
// the output string.
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace sbx::files {

// Standard base64 (A-Z a-z 0-9 + /, '=' padding, no line breaks).
std::size_t base64_encoded_size(std::size_t bytes);
void base64_append(std::string& out, std::string_view bytes);
// Encodes the n bytes that end where the encoding will end (at
// out + base64_encoded_size(n) - n) into out[0, base64_encoded_size(n)): each
// group of three is read before its four characters are written, and the
// writing never catches up with the reading.
void base64_encode_in_place(char* out, std::size_t n);
std::string base64_encode(std::string_view bytes);
// Decodes standard base64 into `out` (at least base64_decoded_bound(
// text.size()) bytes, or text.data() itself to decode in place) and returns
// the decoded size. Whitespace is skipped, padding is optional; anything else
// (foreign characters, '=' before the end, a dangling sixth-bit group) is an
// error.
std::size_t base64_decoded_bound(std::size_t text_bytes);
std::optional<std::size_t> base64_decode_into(std::string_view text, char* out);

// True when `s` is well-formed UTF-8 (no overlongs, surrogates or code
// points above U+10FFFF).
bool utf8_valid(std::string_view s);
// The length of `s` without a trailing, possibly incomplete, multi-byte
// sequence, so that cutting there never splits a character. Bytes that can
// never become valid are not held back.
std::size_t utf8_cut(std::string_view s);

}  // namespace sbx::files
