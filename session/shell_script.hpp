#pragma once
// The text sandboxd writes to a session's bash. Kept apart from the I/O so the
// quoting rules can be unit-tested.
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace sbx::session {

// The descriptor on which the shell reports to the daemon. High, so user
// scripts are unlikely to touch it; bash's own {var} allocation starts at 10.
inline constexpr int k_control_fd = 61;

// 'text' with every ' escaped, safe as one bash word.
std::string shell_quote(std::string_view text);

// Valid environment variable name: [A-Za-z_][A-Za-z0-9_]*.
bool valid_env_name(std::string_view name);

// One-time set-up sent when the shell starts: the report functions, and the
// read-only text of the command line (see command_line) with the path of the
// session's script memfd, the daemon's fd `script_fd`.
std::string preamble(int daemon_pid, int script_fd);

// The script for one command, stored in a memfd the shell evaluates: it runs
// `command` with stdout/stderr to the daemon's fds `out_fd`/`err_fd`. With
// cwd/env overrides the command runs in a subshell so they apply to it alone.
std::string command_script(std::string_view command, int daemon_pid, int out_fd, int err_fd,
                           const std::optional<std::string>& cwd,
                           const std::map<std::string, std::string>& env);

// The line written to the shell for a command: evaluates the session's
// script memfd (read without a fork), then reports "C<status>\0<cwd>\0" on
// the control fd. bash reads a pipe one byte per system call, so the line
// only expands the text the preamble stored, and the command travels in the memfd.
std::string command_line();

// Reports "F<declare -fx output>\0<cwd>\0" then "E<export -p output>\0<cwd>\0"
// on the control fd: the exported functions, then the variables.
std::string snapshot_line();

// Parses `export -p` output into NAME=value entries (exported and set only).
std::map<std::string, std::string> parse_export_p(std::string_view text);

// Parses `declare -fx` output (the exported functions) into the environment
// entries bash gives its children for them: BASH_FUNC_<name>%%=() { ... }.
std::map<std::string, std::string> parse_exported_functions(std::string_view text);

}  // namespace sbx::session
