#pragma once
// Turns a failed `git clone` into the contract's error (API.md §9), with
// registry codes instead of the reference's non-registry ones (Q32).
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/error.hpp"

namespace sbx::git {

// The registry code for a clone's stderr (matched case-insensitively).
std::string_view classify_clone_stderr(std::string_view stderr_text);

struct clone_failure {
  std::string repo_url;  // as sent; redacted here
  std::string target_dir;
  std::optional<std::string> branch;
  int exit_code = 0;
  std::string stderr_text;  // raw; redacted here
};

// "Failed to clone repository '<url>': <stderr or exit code>" with context
// {repository, targetDir, exitCode, stderr, branch?}, credentials redacted.
api_error clone_error(const clone_failure& f);

// A clone that ran longer than the configured limit and was killed.
api_error clone_timeout_error(const clone_failure& f, std::uint64_t timeout_ms);

}  // namespace sbx::git
