#pragma once
#include <string>
#include <string_view>
#include <vector>

namespace sbx::http {

// %XX decoding; `plus_is_space` for query strings. Malformed escapes stay as-is.
std::string percent_decode(std::string_view s, bool plus_is_space = false);

// Splits "/a/b/" into {"a","b",""}; a leading '/' is dropped.
std::vector<std::string_view> split_path(std::string_view path);

}  // namespace sbx::http
