#pragma once
// A request-body parser for bodies that carry one large string (file
// contents). nlohmann's lexer handles strings a byte at a time (~90 MB/s);
// here string values are scanned in runs and only non-string values go
// through nlohmann. Anything unusual fails, and the caller falls back to the
// ordinary parser, which then reports the error.
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace sbx::files {

// Parses a JSON object without copying the file it carries: the string value
// of `blob_member` is unescaped in place inside `text` and returned as a view
// into it (writable: base64 can be decoded in place too) instead of being a
// member of `object`.
struct blob_parse {
  bool ok = false;
  // Failed after unescaping in place: `text` no longer holds the request,
  // so the caller cannot parse it again and reports invalid JSON.
  bool text_changed = false;
  nlohmann::json object;
  std::optional<std::span<char>> blob;
};
blob_parse parse_object_with_blob(std::string& text, std::string_view blob_member);

}  // namespace sbx::files
