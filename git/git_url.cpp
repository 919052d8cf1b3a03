#include "git/git_url.hpp"

#include <cctype>

namespace sbx::git {
namespace {

bool is_space(char c) {
  return std::isspace(static_cast<unsigned char>(c)) != 0;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

bool is_scheme_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '+' || c == '-' || c == '.';
}

// Where the scheme of a "scheme://" occurrence ending at `sep` starts, or npos
// when the characters before "://" are not a scheme.
std::size_t scheme_start(std::string_view text, std::size_t sep) {
  std::size_t start = sep;
  while (start > 0 && is_scheme_char(text[start - 1])) --start;
  while (start < sep && !std::isalpha(static_cast<unsigned char>(text[start]))) ++start;
  return start < sep ? start : std::string_view::npos;
}

// The authority ends at the path, query or fragment, or where the URL ends in
// running text (whitespace, or the quotes git puts around URLs).
bool ends_authority(char c) {
  return c == '/' || c == '?' || c == '#' || c == '\'' || c == '"' || is_space(c);
}

}  // namespace

std::vector<std::string> git_url_problems(const std::string* url) {
  if (url == nullptr || url->empty()) return {"Git URL must be a non-empty string"};
  std::vector<std::string> problems;
  std::string_view trimmed = trim(*url);
  if (trimmed.empty()) problems.emplace_back("Git URL cannot be empty");
  if (trimmed.size() > k_max_git_url_chars)
    problems.emplace_back("Git URL too long (max 2048 characters)");
  if (trimmed.find('\0') != std::string_view::npos)
    problems.emplace_back("Git URL contains null bytes");
  return problems;
}

std::string repo_name(std::string_view url) {
  std::string_view s = trim(url);
  const bool is_url = s.find("://") != std::string_view::npos;
  if (is_url) {
    // Only the path counts: not the host, query or fragment.
    std::size_t path = s.find_first_of("/?#", s.find("://") + 3);
    s = path == std::string_view::npos || s[path] != '/' ? std::string_view() : s.substr(path);
    s = s.substr(0, s.find_first_of("?#"));
  }
  while (!s.empty() && s.back() == '/') s.remove_suffix(1);
  // scp-like "host:org/repo.git" and "host:repo.git" both end in the name.
  std::size_t cut = s.find_last_of(is_url ? "/" : "/:");
  std::string_view name = cut == std::string_view::npos ? s : s.substr(cut + 1);
  if (name.size() > 4 && name.substr(name.size() - 4) == ".git") name.remove_suffix(4);
  if (name.empty() || name == "." || name == ".." || name == ".git") return "repository";
  return std::string(name);
}

std::string redact_credentials(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  std::size_t copied = 0;
  std::size_t from = 0;
  for (std::size_t sep; (sep = text.find("://", from)) != std::string_view::npos;) {
    std::size_t authority = sep + 3;
    std::size_t end = authority;
    while (end < text.size() && !ends_authority(text[end])) ++end;
    from = end;
    if (scheme_start(text, sep) == std::string_view::npos) continue;
    // The last '@' separates user-info from the host, as URL parsers read it.
    std::size_t at = text.substr(authority, end - authority).rfind('@');
    if (at == std::string_view::npos) continue;
    out.append(text.substr(copied, authority - copied));
    out.append("***");
    copied = authority + at;
  }
  out.append(text.substr(copied));
  return out;
}

}  // namespace sbx::git
