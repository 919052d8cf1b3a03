#pragma once
// The text sandboxd writes to a session's bash. Kept apart from the I/O so the
// quoting rules can be unit-tested.
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace sbx::session {

// The shell's own descriptors besides 0-2: /dev/null (what commands read)
// and the one on which it reports to the daemon. Above what user scripts
// name (3-9) and what bash's {var} allocation hands out first (10 up), and
// low enough to stay usable when a command lowers `ulimit -n` (to 32, say):
// bash cannot move a descriptor at or above the limit.
inline constexpr int k_null_fd = 20;
inline constexpr int k_control_fd = 21;

// 'text' with every ' escaped, safe as one bash word.
std::string shell_quote(std::string_view text);

// Valid environment variable name: [A-Za-z_][A-Za-z0-9_]*.
bool valid_env_name(std::string_view name);

// The shell's stdout and stderr are the write ends of two pipes the daemon
// reads. Each command gets fresh ones, so a background job keeps writing
// into its own command's pipes and never into a later command's output. The
// daemon offers them in two pairs of its own descriptors, used in turn: while
// a command runs on one pair, the other already holds the next command's
// pipes, and the shell opens those right after it reported.
struct output_slots {
  int out[2] = {-1, -1};
  int err[2] = {-1, -1};
};

// One-time set-up sent when the shell starts: the report functions, the
// read-only texts the command lines expand, and stdout/stderr on pair 0.
std::string preamble(int daemon_pid, int script_fd, const output_slots& slots);

// What is written for one command: the line for the shell's stdin and, when
// the command is long, the text for the script memfd (empty: none).
struct command_input {
  std::string line;
  std::string script;
};

// Runs `command` at top level (through eval, like a typed line), with stdin
// on /dev/null and the control fd closed; then the shell reports
// "C<status>[e]\0<cwd>\0" on the control fd (e: errexit is on) and moves
// stdout/stderr to pair `next_pair`. bash reads a pipe one byte per system
// call, so a short command travels on the line itself and a long one in the
// memfd. With cwd/env overrides the command runs in a subshell so they apply
// to it alone. `errexit`: the shell last reported errexit on.
command_input command_input_for(std::string_view command, const std::optional<std::string>& cwd,
                                const std::map<std::string, std::string>& env, int next_pair,
                                bool errexit = false);

// Reports "F<declare -fx output>\0<cwd>\0" then "E<export -p output>\0<cwd>\0"
// on the control fd: the exported functions, then the variables.
std::string snapshot_line();

// Parses `export -p` output into NAME=value entries (exported and set only).
std::map<std::string, std::string> parse_export_p(std::string_view text);

// Parses `declare -fx` output (the exported functions) into the environment
// entries bash gives its children for them: BASH_FUNC_<name>%%=() { ... }.
std::map<std::string, std::string> parse_exported_functions(std::string_view text);

}  // namespace sbx::session
