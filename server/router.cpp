#include "server/router.hpp"

#include "server/url.hpp"

namespace sbx::http {
namespace {

bool is_param(std::string_view seg) {
  return seg.size() >= 2 && seg.front() == '{' && seg.back() == '}';
}

// Walks the pattern's segments in place: matching allocates nothing, and
// parameters are decoded only for the route that matched.
template <typename Fn>
bool walk_pattern(std::string_view pattern, Fn&& on_segment) {
  if (!pattern.empty() && pattern.front() == '/') pattern.remove_prefix(1);
  for (std::size_t i = 0;; ++i) {
    auto slash = pattern.find('/');
    if (!on_segment(i, pattern.substr(0, slash))) return false;
    if (slash == std::string_view::npos) return true;
    pattern.remove_prefix(slash + 1);
  }
}

bool path_matches(const route& r, const std::vector<std::string_view>& parts) {
  std::size_t count = 0;
  bool same = walk_pattern(r.pattern, [&](std::size_t i, std::string_view seg) {
    count = i + 1;
    return i < parts.size() && (is_param(seg) || seg == parts[i]);
  });
  return same && (r.any_subpath ? parts.size() >= count : parts.size() == count);
}

std::vector<std::string> capture_params(const route& r,
                                        const std::vector<std::string_view>& parts) {
  std::vector<std::string> params;
  walk_pattern(r.pattern, [&](std::size_t i, std::string_view seg) {
    if (is_param(seg)) params.push_back(percent_decode(parts[i]));
    return true;
  });
  return params;
}

}  // namespace

route_match match_route(std::span<const route> table, method verb, std::string_view path) {
  route_match m;
  auto parts = split_path(path);
  for (const route& r : table) {
    if (r.verb == verb && path_matches(r, parts)) {
      m.found = &r;
      m.params = capture_params(r, parts);
      m.path_known = true;
      return m;
    }
  }
  for (const route& r : table)
    if (path_matches(r, parts)) {
      m.path_known = true;
      break;
    }
  return m;
}

}  // namespace sbx::http
