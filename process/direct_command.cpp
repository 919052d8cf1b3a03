#include "process/direct_command.hpp"

#include <algorithm>
#include <array>
#include <cstdlib>

#include "process/environment.hpp"

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

}  // namespace

std::optional<direct_command> as_direct_command(std::string_view command, const environment& env) {
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
  // An exported function of that name would run instead of the program.
  if (name.find('/') == std::string::npos && env_value(env, "BASH_FUNC_" + name + "%%"))
    return std::nullopt;
  // Without PATH, bash searches its own default.
  auto path = env_value(env, "PATH");
  if (!path) return std::nullopt;
  out.search_path = *path;
  return out;
}

environment direct_command_env(environment env, const std::string& cwd) {
  if (!cwd.empty()) set_env(env, "PWD", cwd);
  // bash -c raises SHLVL at start and lowers it again when it execs its
  // one command in place: a number stays, anything else becomes 0.
  std::string level(env_value(env, "SHLVL").value_or(""));
  char* end = nullptr;
  long n = level.empty() ? 0 : std::strtol(level.c_str(), &end, 10);
  set_env(env, "SHLVL", std::to_string(level.empty() || *end != '\0' ? 0 : n));
  return env;
}

}  // namespace sbx::process
