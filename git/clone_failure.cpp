#include "git/clone_failure.hpp"

#include <algorithm>
#include <array>
#include <cctype>

#include "git/git_url.hpp"

namespace sbx::git {
namespace {

std::string lowercase(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

template <std::size_t N>
bool mentions_any(const std::string& haystack, const std::array<std::string_view, N>& needles) {
  return std::any_of(needles.begin(), needles.end(),
                     [&](std::string_view n) { return haystack.find(n) != std::string::npos; });
}

// Checked in this order: ssh prints "Could not read from remote repository"
// after auth and network failures too, so the specific causes come first.
constexpr std::array<std::string_view, 1> k_existing_target{
    "already exists and is not an empty directory"};
constexpr std::array<std::string_view, 6> k_auth{
    "authentication failed",     "could not read username",      "could not read password",
    "terminal prompts disabled", "permission denied (publickey", "invalid username or password"};
constexpr std::array<std::string_view, 10> k_network{
    "could not resolve host", "could not resolve hostname",
    "connection refused",     "timed out",
    "network is unreachable", "no route to host",
    "connection reset",       "unable to connect",
    "failed to connect to",   "couldn't connect to server"};
constexpr std::array<std::string_view, 7> k_missing_repo{"does not exist",
                                                         "not found",
                                                         "not a git repository",
                                                         "could not read from remote repository",
                                                         "not exported",
                                                         "does not appear to be a git repository",
                                                         "is this a git repository"};

std::string trim_trailing(std::string s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  return s;
}

nlohmann::json failure_context(const clone_failure& f, const std::string& stderr_text) {
  nlohmann::json ctx = {{"repository", redact_credentials(f.repo_url)},
                        {"targetDir", f.target_dir},
                        {"exitCode", f.exit_code},
                        {"stderr", stderr_text}};
  if (f.branch) ctx["branch"] = *f.branch;
  return ctx;
}

}  // namespace

std::string_view classify_clone_stderr(std::string_view stderr_text) {
  const std::string text = lowercase(stderr_text);
  // "fatal: Remote branch X not found in upstream origin"
  if (text.find("remote branch") != std::string::npos &&
      text.find("not found") != std::string::npos)
    return codes::git_branch_not_found;
  if (mentions_any(text, k_existing_target)) return codes::file_exists;
  if (mentions_any(text, k_auth)) return codes::git_auth_failed;
  if (mentions_any(text, k_network)) return codes::git_network_error;
  if (mentions_any(text, k_missing_repo)) return codes::git_repository_not_found;
  return codes::git_clone_failed;
}

api_error clone_error(const clone_failure& f) {
  std::string stderr_text = trim_trailing(redact_credentials(f.stderr_text));
  std::string detail =
      stderr_text.empty() ? "exit code " + std::to_string(f.exit_code) : stderr_text;
  auto code = classify_clone_stderr(f.stderr_text);
  nlohmann::json ctx = failure_context(f, stderr_text);
  // FileExistsError reads `path`; the suggestion names it too.
  if (code == codes::file_exists) ctx["path"] = f.target_dir;
  return make_error(
      code, "Failed to clone repository '" + redact_credentials(f.repo_url) + "': " + detail,
      std::move(ctx));
}

api_error clone_timeout_error(const clone_failure& f, std::uint64_t timeout_ms) {
  std::string stderr_text = trim_trailing(redact_credentials(f.stderr_text));
  return make_error(codes::git_clone_failed,
                    "Failed to clone repository '" + redact_credentials(f.repo_url) +
                        "': timed out after " + std::to_string(timeout_ms) + " ms",
                    failure_context(f, stderr_text));
}

}  // namespace sbx::git
