#pragma once
// A child's environment as "NAME=value" entries (what execve takes), and
// program lookup through a PATH value.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sbx::process {

using environment = std::vector<std::string>;

// The value of `name`, or nothing when it is not set.
std::optional<std::string_view> env_value(const environment& env, std::string_view name);
// Replaces the entry for `name`, or adds one.
void set_env(environment& env, std::string_view name, std::string_view value);

// A regular file this process may execute.
bool is_executable_file(const std::string& path);

// The first executable regular file `dirs/<name>` along a PATH value, as a
// shell finds it. Nothing when not found, or when a relative entry (which
// depends on the working directory) comes before it.
std::optional<std::string> find_in_path(std::string_view dirs, std::string_view name);

}  // namespace sbx::process
