#include "process/direct_command.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdlib>

namespace sbx::process {
namespace {

// Characters bash gives no meaning to inside a word (outside of the first
// word's `=`, checked separately). No quotes, `$`, `~`, globs, braces,
// redirections, operators, comments or backslashes.
bool plain_char(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  switch (c) {
    case '_':
    case '-':
    case '.':
    case '/':
    case ':':
    case ',':
    case '+':
    case '@':
    case '%':
    case '=':
      return true;
    default:
      return false;
  }
}

// Words bash runs itself rather than exec'ing a program.
constexpr std::array<std::string_view, 71> k_shell_words = {
    // builtins
    ".", ":", "[", "alias", "bg", "bind", "break", "builtin", "caller", "cd", "command", "compgen",
    "complete", "compopt", "continue", "declare", "dirs", "disown", "echo", "enable", "eval",
    "exec", "exit", "export", "false", "fc", "fg", "getopts", "hash", "help", "history", "jobs",
    "kill", "let", "local", "logout", "mapfile", "popd", "printf", "pushd", "pwd", "read",
    "readarray", "readonly", "return", "set", "shift", "shopt", "source", "suspend", "test",
    "times", "trap", "true", "type", "typeset", "ulimit", "umask", "unalias", "unset", "wait",
    // keywords that can start a command
    "if", "case", "for", "select", "while", "until", "function", "time", "coproc", "!"};

bool shell_word(std::string_view w) {
  return std::find(k_shell_words.begin(), k_shell_words.end(), w) != k_shell_words.end();
}

std::string_view env_value(const std::vector<std::string>& env, std::string_view name) {
  for (const auto& e : env)
    if (e.size() > name.size() && e[name.size()] == '=' && e.compare(0, name.size(), name) == 0)
      return std::string_view(e).substr(name.size() + 1);
  return {};
}

bool has_env(const std::vector<std::string>& env, std::string_view name) {
  return std::any_of(env.begin(), env.end(), [&](const std::string& e) {
    return e.size() > name.size() && e[name.size()] == '=' && e.compare(0, name.size(), name) == 0;
  });
}

bool executable_file(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(path.c_str(), X_OK) == 0;
}

// PATH search as bash does it for a name without a slash; only absolute
// entries (a relative entry depends on the directory: leave it to bash).
std::optional<std::string> search_path(std::string_view dirs, const std::string& name) {
  while (!dirs.empty()) {
    auto colon = dirs.find(':');
    auto dir = dirs.substr(0, colon);
    dirs = colon == std::string_view::npos ? std::string_view{} : dirs.substr(colon + 1);
    if (dir.empty() || dir.front() != '/') return std::nullopt;
    std::string candidate = std::string(dir) + "/" + name;
    if (executable_file(candidate)) return candidate;
  }
  return std::nullopt;
}

}  // namespace

std::optional<direct_command> as_direct_command(std::string_view command,
                                                const std::vector<std::string>& env) {
  direct_command out;
  std::size_t i = 0;
  while (i < command.size()) {
    char c = command[i];
    if (c == ' ' || c == '\t') {
      ++i;
      continue;
    }
    std::size_t start = i;
    while (i < command.size() && plain_char(command[i])) ++i;
    if (i < command.size() && command[i] != ' ' && command[i] != '\t') return std::nullopt;
    out.argv.emplace_back(command.substr(start, i - start));
  }
  if (out.argv.empty()) return std::nullopt;
  const std::string& name = out.argv.front();
  if (name.find('=') != std::string::npos || shell_word(name)) return std::nullopt;
  if (name.find('/') != std::string::npos) {
    if (name.front() != '/' || !executable_file(name)) return std::nullopt;
    out.program = name;
    return out;
  }
  // An exported function of that name would run instead of the program.
  if (has_env(env, "BASH_FUNC_" + name + "%%")) return std::nullopt;
  if (!has_env(env, "PATH")) return std::nullopt;
  auto found = search_path(env_value(env, "PATH"), name);
  if (!found) return std::nullopt;
  out.program = std::move(*found);
  return out;
}

std::vector<std::string> direct_command_env(std::vector<std::string> env, const std::string& cwd,
                                            const std::string& program) {
  auto set = [&](std::string_view name, std::string value) {
    std::string entry = std::string(name) + "=" + value;
    auto it = std::find_if(env.begin(), env.end(), [&](const std::string& e) {
      return e.size() > name.size() && e[name.size()] == '=' &&
             e.compare(0, name.size(), name) == 0;
    });
    if (it != env.end())
      *it = std::move(entry);
    else
      env.push_back(std::move(entry));
  };
  if (!cwd.empty()) set("PWD", cwd);
  // bash -c raises SHLVL at start and lowers it again when it execs its
  // one command in place: a number stays, anything else becomes 0.
  std::string level(env_value(env, "SHLVL"));
  char* end = nullptr;
  long n = level.empty() ? 0 : std::strtol(level.c_str(), &end, 10);
  set("SHLVL", std::to_string(level.empty() || *end != '\0' ? 0 : n));
  set("_", program);
  return env;
}

}  // namespace sbx::process
