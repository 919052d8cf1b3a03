#pragma once
// Pure helpers for repository URLs (API.md §9): validation, the default
// directory name, and credential redaction for logs and error texts.
#include <string>
#include <string_view>
#include <vector>

namespace sbx::git {

inline constexpr std::size_t k_max_git_url_chars = 2048;

// The contract's problems with a repository URL (empty when it is valid).
// `url` is absent when the request did not carry a string.
std::vector<std::string> git_url_problems(const std::string* url);

// Directory name a clone of `url` gets by default: the last path segment
// without a trailing ".git" ("git@host:org/repo.git" -> "repo"), or
// "repository" when the URL has no usable name.
std::string repo_name(std::string_view url);

// `text` with the user-info of every "scheme://user:secret@host" replaced by
// "***" ("https://***@host/..."), so tokens never reach logs or responses.
std::string redact_credentials(std::string_view text);

}  // namespace sbx::git
