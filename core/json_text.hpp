#pragma once
// Bytes as a JSON string, fast: output events carry up to a pipe read of
// text each and file reads whole files, and the generic serialiser would be
// the bottleneck of both.
// Invalid UTF-8 becomes U+FFFD, as everywhere else in the daemon.
#include <string>
#include <string_view>

#include <nlohmann/json_fwd.hpp>

namespace sbx {

// Appends `bytes` as a quoted JSON string.
void append_json_string(std::string& out, std::string_view bytes);
// The same for text already known to be well-formed UTF-8 (not checked again).
void append_json_string_utf8(std::string& out, std::string_view text);

// The escaped body (what append_json_string writes between the quotes) of
// `bytes`: its length, and writing it over its own input. For the latter the
// n input bytes must end where the body will end (in + n == out +
// json_body_size): the body is never shorter than its input, so every byte
// is read before anything is written over it.
std::size_t json_body_size(std::string_view bytes);
void escape_json_body_in_place(char* out, const char* in, std::size_t n);

// Parses JSON text; a \u escape of a lone UTF-16 surrogate (which
// JavaScript's JSON.stringify writes for a string holding one, and which
// nlohmann rejects) reads as U+FFFD, as a JavaScript runtime's UTF-8 encoder
// would make it. A discarded value when the text is not JSON.
nlohmann::json parse_json_lenient(std::string_view text);

}  // namespace sbx
