#include "session/shell_script.hpp"

#include <string>

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

std::string preamble(int daemon_pid, int script_fd) {
  // Aliases persist between commands like in an interactive shell.
  // __sbx_rc sets $? (so `false` then `echo $?` prints 1); __sbx_r reports a
  // command's status and cwd, __sbx_e the environment. They are read-only so
  // user code cannot replace them by accident.
  const std::string ctl = std::to_string(k_control_fd);
  return "shopt -s expand_aliases\n"
         "__sbx_rc() { builtin return \"$1\"; }\n"
         "__sbx_r() { builtin local s=$?; builtin unset __sbx_c; "
         "builtin printf 'C%d\\0%s\\0' \"$s\" \"$PWD\" >&" +
         ctl +
         "; builtin return \"$s\"; }\n"
         "__sbx_e() { builtin local s=$?; { builtin printf 'F'; builtin declare -fx; "
         "builtin printf '\\0%s\\0E' \"$PWD\"; builtin export -p; "
         "builtin printf '\\0%s\\0' \"$PWD\"; } >&" +
         ctl +
         "; builtin return \"$s\"; }\n"
         "builtin readonly -f __sbx_rc __sbx_r __sbx_e\n"
         // eval at top level, as if typed: `return` outside a function is the
         // usual error, and bash's messages carry no file name. $? of the
         // previous command is carried into this one.
         "builtin readonly __sbx_l='__sbx_p=$?;builtin eval \"$(</proc/" +
         std::to_string(daemon_pid) + "/fd/" + std::to_string(script_fd) + ")\";__sbx_r'\n";
}

std::string command_script(std::string_view command, int daemon_pid, int out_fd, int err_fd,
                           const std::optional<std::string>& cwd,
                           const std::map<std::string, std::string>& env) {
  const std::string proc = "/proc/" + std::to_string(daemon_pid) + "/fd/";
  // The text runs through eval, so a syntax error runs nothing and returns 2.
  // The newline after it ends a trailing here-document or comment.
  std::string body = "__sbx_rc \"$__sbx_p\"; builtin eval \"$__sbx_c\"$'\\n'";
  std::string run;
  if (cwd || !env.empty()) {
    run = "( ";
    if (cwd) run += "builtin cd -- " + shell_quote(*cwd) + " || builtin exit 1; ";
    for (const auto& [k, v] : env) run += "builtin export " + k + "=" + shell_quote(v) + "; ";
    run += body + " )";
  } else {
    run = "{ " + body + "; }";
  }
  std::string script = "__sbx_c=";
  script.reserve(command.size() + 256);
  script += shell_quote(command);
  script += "; " + run + " </dev/null >" + proc + std::to_string(out_fd) + " 2>" + proc +
            std::to_string(err_fd) + " " + std::to_string(k_control_fd) + ">&-\n";
  return script;
}

std::string command_line() {
  return "builtin eval \"$__sbx_l\"\n";
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
    if (i < text.size() && text[i] == '"') {
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
