#include "session/shell_script.hpp"

#include <string>

#include "core/unicode.hpp"

namespace sbx::session {

std::string shell_quote(std::string_view text) {
  std::string out = "'";
  for (char c : text) {
    if (c == '\'')
      out += "'\\''";
    else
      out += c;
  }
  out += '\'';
  return out;
}

bool valid_env_name(std::string_view name) {
  if (name.empty()) return false;
  auto alpha = [](char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_'; };
  if (!alpha(name[0])) return false;
  for (char c : name)
    if (!alpha(c) && !(c >= '0' && c <= '9')) return false;
  return true;
}

namespace {

// Quoted commands up to this size travel on the line (one read per byte);
// longer ones in the memfd (an open and a read whatever the size).
constexpr std::size_t k_inline_max = 96;

// Sets $? to the previous command's status, as the left side of && so that
// errexit and ERR traps let it be. The function call is made only for a
// non-zero status: a call costs more than the whole test.
const std::string restore_status = "{ [[ $__sbx_p == 0 ]] || __sbx_rc \"$__sbx_p\"; } && :; ";

std::string proc_fd(int daemon_pid, int fd) {
  return "/proc/" + std::to_string(daemon_pid) + "/fd/" + std::to_string(fd);
}

// The errexit runner, for a shell with errexit on or a command that may turn
// it on, unless the command has a here-document: an unterminated one would
// take the status record in as text.
bool errexit_runner(std::string_view command, bool errexit) {
  if (command.find("<<") != std::string_view::npos) return false;
  return errexit || command.find("set -") != std::string_view::npos ||
         command.find("errexit") != std::string_view::npos;
}

// Reads digits of `base` (at most `max`) from text[i]; -1 when there are none.
long read_number(std::string_view text, std::size_t& i, int base, int max) {
  long v = -1;
  for (int n = 0; n < max && i < text.size(); ++n) {
    int d = digit_value(text[i], base);
    if (d < 0) break;
    v = (v < 0 ? 0 : v) * base + d;
    ++i;
  }
  return v;
}

// The body of a $'...' word from text[i] (just after the opening quote) to
// its closing quote, unescaped into `out`; returns the index after the quote.
// bash's export -p writes values with control characters this way.
std::size_t read_ansi_c_quoted(std::string_view text, std::size_t i, std::string& out) {
  while (i < text.size() && text[i] != '\'') {
    if (text[i] != '\\' || i + 1 >= text.size()) {
      out += text[i++];
      continue;
    }
    char c = text[i + 1];
    i += 2;
    switch (c) {
      case 'a':
        out += '\a';
        break;
      case 'b':
        out += '\b';
        break;
      case 'e':
      case 'E':
        out += '\x1b';
        break;
      case 'f':
        out += '\f';
        break;
      case 'n':
        out += '\n';
        break;
      case 'r':
        out += '\r';
        break;
      case 't':
        out += '\t';
        break;
      case 'v':
        out += '\v';
        break;
      case 'c':
        if (i < text.size()) out += static_cast<char>(text[i++] & 0x1F);
        break;
      case 'x':
      case 'u':
      case 'U': {
        long v = read_number(text, i, 16, c == 'x' ? 2 : c == 'u' ? 4 : 8);
        if (v < 0) {
          out += '\\';
          out += c;
        } else if (c == 'x') {
          out += static_cast<char>(v);
        } else {
          append_utf8(out, static_cast<char32_t>(v));
        }
        break;
      }
      default:
        if (c >= '0' && c <= '7') {
          --i;
          out += static_cast<char>(read_number(text, i, 8, 3));
        } else {
          out += c;  // \\ \' \" \? and anything else: the character itself
        }
    }
  }
  return i + 1;  // past the closing quote
}

}  // namespace

std::string preamble(int daemon_pid, int script_fd, const output_slots& slots) {
  const std::string ctl = std::to_string(k_control_fd);
  const std::string null = std::to_string(k_null_fd);
  auto outputs = [&](int pair) {
    return null + "</dev/null >" + proc_fd(daemon_pid, slots.out[pair]) + " 2>" +
           proc_fd(daemon_pid, slots.err[pair]);
  };
  // __sbx_r reports a command's status (its argument, else $?), whether
  // errexit is on, and the cwd, and keeps the status in __sbx_p for the
  // next command's $?. It first turns xtrace off (noting it in __sbx_x; the
  // next command turns it back on), out of sight: the trace of a command
  // shows the same lines every time and never spills into the next one. It
  // unsets any function named exec, which would otherwise make the move to
  // the next pair temporary.
  //
  // Every step goes through `builtin`, so a function named builtin, or
  // `enable -n` of a builtin used here, would leave the command unreported
  // and the session hung. The reporter notices (__sbx_c survives the unset
  // without being readonly, which no repair could undo, or the printf
  // fails) and repairs the shell with __sbx_h: in POSIX mode
  // `unset`, a special builtin, is found before any function, and leaving
  // that mode restores the options it changed. The repair is said on the
  // command's stderr.
  const std::string needed = "cd declare eval exec exit export local printf return set unset";
  const std::string repair =
      "__sbx_h() { if [[ :$SHELLOPTS: == *:posix:* ]]; then unset -f builtin; "
      "else POSIXLY_CORRECT=y; unset -f builtin; unset POSIXLY_CORRECT; fi; "
      "builtin enable " +
      needed +
      "; builtin unset __sbx_c __sbx_s; "
      "builtin printf '%s\\n' 'sandboxd: restored what the session'\\''s shell needs to report "
      "commands: bash'\\''s builtin command (a function of that name is removed) and the "
      "builtins " +
      needed + " (enabled again)' >&2; }\n";
  const std::string record =
      "builtin printf 'C%d%s\\0%s\\0' \"$__sbx_p\" \"${__sbx_x//[!e]}\" \"$PWD\" >&" + ctl;
  const std::string reporter =
      "__sbx_r() { { __sbx_p=${1:-$?} __sbx_x=$-; builtin set +x; } 2>&" + null +
      "; builtin unset __sbx_c __sbx_s; [[ -v __sbx_c && ${__sbx_c@a} != *r* ]] && __sbx_h; " +
      record + " || { __sbx_h; " + record + "; }; builtin unset -f exec; }\n";
  // The text a command line evaluates at top level, as if typed: `return`
  // outside a function is the usual error, and bash's messages carry no file
  // name. restore_status sets $? to the previous command's status. The newline
  // after the command ends a trailing here-document or comment. After the
  // report the shell takes pair N as stdout/stderr.
  //
  // Under `set -e` the evaluation must not fail where the command itself
  // would not have ended a shell: `test -f x && echo y` or `! cmd` end with
  // a status errexit ignores, but eval is a simple command, and its status
  // would end the session. There the text ends by recording its status in
  // __sbx_s (after a blank line, past a trailing backslash) and the rc call
  // is the ignored left side of `&&`.
  //
  // With errexit on, a syntax error would end the shell, where at a prompt
  // it only fails the line: the errexit runner first has bash parse the
  // command as the body of a function it then drops, and a command that does
  // not parse gets status 2 and bash's message, and does not run. (Not when
  // the command changes shell options or aliases, which its later lines may
  // need to parse.) The check's eval goes through `command`: bash 5.2 ends
  // a shell with errexit on at a syntax error inside `builtin eval` even on
  // the left of ||, but not inside `command eval` (skipped if a function has
  // taken that name).
  const std::string syntax_check =
      "[[ $- != *e* || $__sbx_c == *shopt* || $__sbx_c == *alias* ]] || builtin declare -F "
      "command >/dev/null || \\command eval \"__sbx_syn() {\"$'\\n'\"$__sbx_c\"$'\\n\\n}' || "
      "__sbx_s=2; builtin unset -f __sbx_syn; ";
  auto runner = [&](int pair, bool errexit) {
    std::string run_command = errexit ? "[[ -v __sbx_s ]] || { " + restore_status +
                                            "builtin eval "
                                            "\"$__sbx_c\"$'\\n\\n__sbx_s=$?'; }"
                                      : restore_status + "builtin eval \"$__sbx_c\"$'\\n'";
    return "{ " + (errexit ? syntax_check : std::string()) +
           "[[ $__sbx_x != *x* ]] || builtin set -x; " + run_command + "; } <&" + null + "- " +
           ctl + ">&-;__sbx_r" + (errexit ? " \"${__sbx_s-}\"" : "") + ";\\exec " + outputs(pair);
  };
  const std::string script = "$(<" + proc_fd(daemon_pid, script_fd) + ")";
  std::string out =
      "shopt -s expand_aliases\n"
      "__sbx_p=0 __sbx_x=\n"
      "__sbx_rc() { builtin return \"$1\"; }\n" +
      repair + reporter +
      // __sbx_e reports the environment: exported functions, then variables.
      "__sbx_e() { builtin local s=$?; { builtin printf 'F'; builtin declare -fx; "
      "builtin printf '\\0%s\\0E' \"$PWD\"; builtin export -p; "
      "builtin printf '\\0%s\\0' \"$PWD\"; } >&" +
      ctl +
      "; builtin return \"$s\"; }\n"
      "builtin readonly -f __sbx_rc __sbx_h __sbx_r __sbx_e\n"
      "exec " +
      outputs(0) + "\n";
  // __sbx_l<pair> runs the command on the line, __sbx_m<pair> the one in
  // the memfd; __sbx_le<pair> and __sbx_me<pair> do the same under errexit.
  for (int pair : {0, 1}) {
    for (bool errexit : {false, true}) {
      const std::string n = std::string(errexit ? "e" : "") + std::to_string(pair);
      out += "builtin readonly __sbx_l" + n + "=" + shell_quote(runner(pair, errexit)) +
             " __sbx_m" + n + "=" + shell_quote("__sbx_c=" + script + ";" + runner(pair, errexit)) +
             "\n";
    }
  }
  return out;
}

command_input command_input_for(std::string_view command, const std::optional<std::string>& cwd,
                                const std::map<std::string, std::string>& env, int next_pair,
                                bool errexit) {
  std::string text;
  if (cwd || !env.empty()) {
    text = "( ";
    if (cwd) text += "builtin cd -- " + shell_quote(*cwd) + " || builtin exit 1; ";
    for (const auto& [k, v] : env) text += "builtin export " + k + "=" + shell_quote(v) + "; ";
    text += restore_status + "builtin eval " + shell_quote(command) + "$'\\n' )";
  } else {
    text = command;
  }
  const std::string n =
      std::string(errexit_runner(command, errexit) ? "e" : "") + std::to_string(next_pair);
  command_input in;
  std::string quoted = shell_quote(text);
  if (quoted.size() <= k_inline_max && quoted.find('\0') == std::string::npos) {
    in.line = "__sbx_c=" + quoted + ";builtin eval \"$__sbx_l" + n + "\"\n";
  } else {
    in.line = "builtin eval \"$__sbx_m" + n + "\"\n";
    in.script = std::move(text);
  }
  return in;
}

std::string snapshot_line() {
  return "__sbx_e\n";
}

std::map<std::string, std::string> parse_export_p(std::string_view text) {
  // Lines look like: declare -x NAME="value" (value may span lines; \ escapes
  // " \ $ `), or declare -x NAME for an exported variable without a value.
  std::map<std::string, std::string> out;
  std::size_t i = 0;
  while (i < text.size()) {
    if (text.compare(i, 9, "declare -") != 0) {
      auto nl = text.find('\n', i);
      if (nl == std::string_view::npos) break;
      i = nl + 1;
      continue;
    }
    auto space = text.find(' ', i + 9);
    if (space == std::string_view::npos) break;
    i = space + 1;
    std::size_t name_start = i;
    while (i < text.size() && text[i] != '=' && text[i] != '\n') ++i;
    std::string name(text.substr(name_start, i - name_start));
    if (i >= text.size() || text[i] == '\n') {
      ++i;
      continue;  // exported but unset: not part of the environment
    }
    ++i;  // '='
    std::string value;
    if (text.compare(i, 2, "$'") == 0) {
      i = read_ansi_c_quoted(text, i + 2, value);
    } else if (i < text.size() && text[i] == '"') {
      ++i;
      while (i < text.size() && text[i] != '"') {
        if (text[i] == '\\' && i + 1 < text.size() &&
            (text[i + 1] == '"' || text[i + 1] == '\\' || text[i + 1] == '$' ||
             text[i + 1] == '`')) {
          value += text[i + 1];
          i += 2;
          continue;
        }
        value += text[i++];
      }
      ++i;  // closing quote
    }
    while (i < text.size() && text[i] != '\n') ++i;
    ++i;
    if (valid_env_name(name)) out[name] = std::move(value);
  }
  return out;
}

std::map<std::string, std::string> parse_exported_functions(std::string_view text) {
  // Each definition ("NAME () \n{ ...\n}") is followed by its attribute line
  // ("declare -fx NAME"); bash imports "() {" followed by the body.
  std::map<std::string, std::string> out;
  std::size_t def_start = 0;
  for (std::size_t i = 0; i < text.size();) {
    auto nl = text.find('\n', i);
    if (nl == std::string_view::npos) nl = text.size();
    auto line = text.substr(i, nl - i);
    auto space = line.find(' ', 8);  // after "declare -<flags>"
    if (line.rfind("declare -", 0) == 0 && space != std::string_view::npos &&
        line.substr(8, space - 8).find('f') != std::string_view::npos) {
      auto name = line.substr(space + 1);
      auto def = text.substr(def_start, i - def_start);
      std::string header = std::string(name) + " () ";
      if (def.rfind(header, 0) == 0) {
        auto brace = def.find('{', header.size());
        if (brace != std::string_view::npos) {
          auto body = def.substr(brace + 1);
          while (!body.empty() && body.back() == '\n') body.remove_suffix(1);
          out["BASH_FUNC_" + std::string(name) + "%%"] = "() {" + std::string(body);
        }
      }
      def_start = nl + 1;
    }
    i = nl + 1;
  }
  return out;
}

}  // namespace sbx::session
