#pragma once
// Path validation (API.md §12.1) and resolution against a session's
// current directory (§7).
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "core/error.hpp"

namespace sbx::files {

inline constexpr std::size_t k_max_path_chars = 4096;

// The field value must be a non-empty string without NUL bytes and at most
// 4096 characters. Failure: 400 VALIDATION_FAILED
// "Invalid path format for '<value>': <problems>", validationErrors naming
// `field`. `value` is null when the field is absent.
std::optional<api_error> validate_path(const nlohmann::json* value, std::string_view field);

// Absolute paths as given; relative ones joined to `cwd`.
std::string resolve_path(const std::string& path, const std::string& cwd);

// The directory holding `path` ("." for a bare name, "/" for "/x").
std::string parent_of(const std::string& path);
// The last component, trailing slashes ignored.
std::string base_name(const std::string& path);

}  // namespace sbx::files
