#include "files/path_rules.hpp"

#include <vector>

namespace sbx::files {
namespace {

// Counts characters the way JavaScript's String.length does (UTF-16 units),
// so the 4096 limit means what it means to the SDK.
std::size_t js_length(std::string_view s) {
  std::size_t n = 0;
  for (unsigned char c : s) {
    if ((c & 0xC0) == 0x80) continue;
    n += c >= 0xF0 ? 2 : 1;
  }
  return n;
}

std::string shown(const nlohmann::json* value) {
  if (!value) return "undefined";
  if (value->is_string()) return value->get<std::string>();
  return value->dump();
}

}  // namespace

std::optional<api_error> validate_path(const nlohmann::json* value, std::string_view field) {
  std::vector<std::string> problems;
  if (!value || !value->is_string() || value->get_ref<const std::string&>().empty()) {
    problems.emplace_back("Path must be a non-empty string");
  } else {
    const auto& s = value->get_ref<const std::string&>();
    if (s.find('\0') != std::string::npos) problems.emplace_back("Path contains null bytes");
    if (js_length(s) > k_max_path_chars)
      problems.emplace_back("Path too long (max 4096 characters)");
  }
  if (problems.empty()) return std::nullopt;

  std::string message = "Invalid path format for '" + shown(value) + "': ";
  auto errors = nlohmann::json::array();
  for (std::size_t i = 0; i < problems.size(); ++i) {
    if (i) message += ", ";
    message += problems[i];
    errors.push_back({{"field", field}, {"message", problems[i]}, {"code", "INVALID_PATH"}});
  }
  return make_error(codes::validation_failed, std::move(message), {{"validationErrors", errors}});
}

std::string resolve_path(const std::string& path, const std::string& cwd) {
  if (!path.empty() && path.front() == '/') return path;
  if (cwd.empty()) return path;
  std::string out = cwd;
  if (out.back() != '/') out += '/';
  out += path;
  return out;
}

std::string parent_of(const std::string& path) {
  std::string p = path;
  while (p.size() > 1 && p.back() == '/') p.pop_back();
  auto slash = p.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return p.substr(0, slash);
}

std::string base_name(const std::string& path) {
  std::string p = path;
  while (p.size() > 1 && p.back() == '/') p.pop_back();
  auto slash = p.rfind('/');
  return slash == std::string::npos ? p : p.substr(slash + 1);
}

}  // namespace sbx::files
