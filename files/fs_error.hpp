#pragma once
// The one errno -> contract error mapping for every file operation
// (API.md §2.2): each errno a user can cause gets its own code and a 4xx
// status, so a user mistake is never a 500.
#include <string>
#include <string_view>

#include "core/error.hpp"

namespace sbx::files {

// Operation names of API.md §2.1 (context.operation).
namespace ops {
inline constexpr std::string_view read = "file.read";
inline constexpr std::string_view write = "file.write";
inline constexpr std::string_view remove = "file.delete";
inline constexpr std::string_view move = "file.move";
inline constexpr std::string_view rename = "file.rename";
inline constexpr std::string_view stat = "file.stat";
inline constexpr std::string_view mkdir = "directory.create";
inline constexpr std::string_view list = "directory.list";
}  // namespace ops

// The contract code for an errno (FILESYSTEM_ERROR when none fits).
std::string_view code_for_errno(int err);

// An error for a failed system call on `path` (the path as the request gave
// it). Message: `message` when given, else "Failed to <verb> '<path>': <reason>".
// Context: {path, operation}.
api_error fs_error(int err, std::string_view operation, const std::string& path,
                   std::string message = {});

}  // namespace sbx::files
