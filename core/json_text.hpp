#pragma once
// Bytes as a JSON string, fast: output events carry up to a pipe read of
// text each and file reads whole files, and the generic serialiser would be
// the bottleneck of both.
// Invalid UTF-8 becomes U+FFFD, as everywhere else in the daemon.
#include <string>
#include <string_view>

namespace sbx {

// Appends `bytes` as a quoted JSON string.
void append_json_string(std::string& out, std::string_view bytes);
// The same for text already known to be well-formed UTF-8 (not checked again).
void append_json_string_utf8(std::string& out, std::string_view text);

}  // namespace sbx
