#pragma once
// Output bytes as a JSON string, fast: output events carry up to a pipe read
// of text each, and the generic serialiser is the bottleneck of a stream.
// Invalid UTF-8 becomes U+FFFD, as everywhere else in the daemon.
#include <string>
#include <string_view>

namespace sbx::process {

// Appends `bytes` as a quoted JSON string.
void append_json_string(std::string& out, std::string_view bytes);

}  // namespace sbx::process
