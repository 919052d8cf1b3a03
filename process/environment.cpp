#include "process/environment.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>

namespace sbx::process {
namespace {

bool is_entry_of(const std::string& entry, std::string_view name) {
  return entry.size() > name.size() && entry[name.size()] == '=' &&
         std::string_view(entry).substr(0, name.size()) == name;
}

}  // namespace

bool is_executable_file(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(path.c_str(), X_OK) == 0;
}

std::optional<std::string_view> env_value(const environment& env, std::string_view name) {
  auto it = std::find_if(env.begin(), env.end(),
                         [&](const std::string& e) { return is_entry_of(e, name); });
  if (it == env.end()) return std::nullopt;
  return std::string_view(*it).substr(name.size() + 1);
}

void set_env(environment& env, std::string_view name, std::string_view value) {
  std::string entry;
  entry.reserve(name.size() + 1 + value.size());
  entry.append(name).append("=").append(value);
  auto it = std::find_if(env.begin(), env.end(),
                         [&](const std::string& e) { return is_entry_of(e, name); });
  if (it != env.end())
    *it = std::move(entry);
  else
    env.push_back(std::move(entry));
}

std::optional<std::string> find_in_path(std::string_view dirs, std::string_view name) {
  while (!dirs.empty()) {
    auto colon = dirs.find(':');
    auto dir = dirs.substr(0, colon);
    dirs = colon == std::string_view::npos ? std::string_view{} : dirs.substr(colon + 1);
    if (dir.empty() || dir.front() != '/') return std::nullopt;
    std::string candidate;
    candidate.append(dir).append("/").append(name);
    if (is_executable_file(candidate)) return candidate;
  }
  return std::nullopt;
}

}  // namespace sbx::process
