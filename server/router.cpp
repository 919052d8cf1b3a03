#include "server/router.hpp"

#include "server/url.hpp"

namespace sbx::http {
namespace {

bool is_param(std::string_view seg) {
  return seg.size() >= 2 && seg.front() == '{' && seg.back() == '}';
}

bool path_matches(const route& r, const std::vector<std::string_view>& parts,
                  std::vector<std::string>* params) {
  auto pattern = split_path(r.pattern);
  if (r.any_subpath ? parts.size() < pattern.size() : parts.size() != pattern.size()) return false;
  std::vector<std::string> captured;
  for (std::size_t i = 0; i < pattern.size(); ++i) {
    if (is_param(pattern[i])) {
      captured.push_back(percent_decode(parts[i]));
    } else if (pattern[i] != parts[i]) {
      return false;
    }
  }
  if (params) *params = std::move(captured);
  return true;
}

}  // namespace

route_match match_route(std::span<const route> table, method verb, std::string_view path) {
  route_match m;
  auto parts = split_path(path);
  for (const route& r : table) {
    if (r.verb != verb) {
      if (!m.path_known && path_matches(r, parts, nullptr)) m.path_known = true;
      continue;
    }
    if (path_matches(r, parts, &m.params)) {
      m.found = &r;
      m.path_known = true;
      return m;
    }
  }
  return m;
}

}  // namespace sbx::http
