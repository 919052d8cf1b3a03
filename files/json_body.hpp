#pragma once
// A request-body parser for bodies that carry one large string (file
// contents). nlohmann's lexer handles strings a byte at a time (~90 MB/s);
// here string values are scanned in runs and only non-string values go
// through nlohmann. Anything unusual returns nothing and the caller falls
// back to the ordinary parser, which then reports the error.
#include <optional>
#include <string_view>

#include <nlohmann/json.hpp>

namespace sbx::files {

std::optional<nlohmann::json> parse_object_fast(std::string_view text);

}  // namespace sbx::files
