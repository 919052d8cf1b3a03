#include <catch2/catch.hpp>

#include "session/shell_script.hpp"

using namespace sbx::session;

TEST_CASE("shell_quote makes any text one bash word") {
  CHECK(shell_quote("abc") == "'abc'");
  CHECK(shell_quote("it's") == "'it'\\''s'");
  CHECK(shell_quote("") == "''");
  CHECK(shell_quote("$HOME `x` \"q\"") == "'$HOME `x` \"q\"'");
}

TEST_CASE("valid_env_name") {
  CHECK(valid_env_name("PATH"));
  CHECK(valid_env_name("_x1"));
  CHECK_FALSE(valid_env_name(""));
  CHECK_FALSE(valid_env_name("1X"));
  CHECK_FALSE(valid_env_name("A-B"));
  CHECK_FALSE(valid_env_name("A B"));
}

TEST_CASE("parse_export_p reads values with escapes and newlines") {
  std::string text =
      "declare -x HOME=\"/root\"\n"
      "declare -x MULTI=\"line1\nline2\"\n"
      "declare -x QUOTED=\"a \\\"b\\\" \\$c \\\\ \\`d\\`\"\n"
      "declare -x UNSET\n"
      "declare -rx RO=\"1\"\n"
      "declare -x EMPTY=\"\"\n";
  auto env = parse_export_p(text);
  CHECK(env.at("HOME") == "/root");
  CHECK(env.at("MULTI") == "line1\nline2");
  CHECK(env.at("QUOTED") == "a \"b\" $c \\ `d`");
  CHECK(env.count("UNSET") == 0);
  CHECK(env.at("RO") == "1");
  CHECK(env.at("EMPTY") == "");
}

TEST_CASE("parse_export_p reads the $'...' values bash writes for control characters") {
  // As bash 5.2's export -p prints them.
  std::string text =
      "declare -x A=$'l1\\nl2'\n"
      "declare -x B=$'a\\tb'\n"
      "declare -x C=$'\\001\\177\\377\\E'\n"
      "declare -x D=\"it's \\\"q\\\"\"\n"
      "declare -x E=$'\xc3\xa9\\r'\n"
      "declare -x F=$'\\'\\\\ \\x41\\u00e9\\cA\\q'\n"
      "declare -x G=\"after\"\n";
  auto env = parse_export_p(text);
  CHECK(env.at("A") == "l1\nl2");
  CHECK(env.at("B") == "a\tb");
  CHECK(env.at("C") == "\x01\x7f\xff\x1b");
  CHECK(env.at("D") == "it's \"q\"");
  CHECK(env.at("E") == "\xc3\xa9\r");
  CHECK(env.at("F") == "'\\ A\xc3\xa9\x01q");
  CHECK(env.at("G") == "after");
}

TEST_CASE("parse_exported_functions gives the environment entries bash exports") {
  std::string text =
      "greet () \n{ \n    echo \"hi $1\"\n}\ndeclare -fx greet\n"
      "two-part () \n{ \n    local x=1;\n    echo \"declare -fx nope\"\n}\ndeclare -frx two-part\n";
  auto fns = parse_exported_functions(text);
  REQUIRE(fns.size() == 2);
  CHECK(fns.at("BASH_FUNC_greet%%") == "() { \n    echo \"hi $1\"\n}");
  CHECK(fns.at("BASH_FUNC_two-part%%") ==
        "() { \n    local x=1;\n    echo \"declare -fx nope\"\n}");
  CHECK(parse_exported_functions("").empty());
}

TEST_CASE("command_input_for puts a short command on the line and a long one in the memfd") {
  auto in = command_input_for("echo 'hi'", std::nullopt, {}, 1);
  CHECK(in.line == "__sbx_c='echo '\\''hi'\\''';builtin eval \"$__sbx_l1\"\n");
  CHECK(in.script.empty());
  std::string long_command(200, 'x');
  auto big = command_input_for(long_command, std::nullopt, {}, 0);
  CHECK(big.line == "builtin eval \"$__sbx_m0\"\n");
  CHECK(big.script == long_command);
  std::string with_nul("echo a\0b", 8);
  CHECK(command_input_for(with_nul, std::nullopt, {}, 0).script == with_nul);
}

TEST_CASE("command_input_for takes the errexit runner when errexit may be on") {
  CHECK(command_input_for("true", std::nullopt, {}, 0, true).line ==
        "__sbx_c='true';builtin eval \"$__sbx_le0\"\n");
  CHECK(command_input_for("set -e; true", std::nullopt, {}, 1).line ==
        "__sbx_c='set -e; true';builtin eval \"$__sbx_le1\"\n");
  CHECK(command_input_for("set -o errexit", std::nullopt, {}, 0).line.find("$__sbx_le0") !=
        std::string::npos);
  CHECK(command_input_for(std::string(200, 'x'), std::nullopt, {}, 1, true).line ==
        "builtin eval \"$__sbx_me1\"\n");
  // A here-document stays with the plain runner: it appends nothing.
  CHECK(command_input_for("set -e; cat <<E\nx\nE", std::nullopt, {}, 0, true).line ==
        "__sbx_c='set -e; cat <<E\nx\nE';builtin eval \"$__sbx_l0\"\n");
}

TEST_CASE("command_input_for runs a command with cwd/env overrides in a subshell") {
  auto sub = command_input_for("true", std::string("/tmp/it's"), {{"A", "x'y"}}, 0);
  std::string text = sub.script.empty() ? sub.line : sub.script;
  CHECK(text.find("builtin cd -- '/tmp/it'\\''s'") != std::string::npos);
  CHECK(text.find("builtin export A='x'\\''y'") != std::string::npos);
  CHECK(text.find("builtin eval 'true'$'\\n' )") != std::string::npos);
}

TEST_CASE("preamble stores the command texts and opens pair 0 as stdout/stderr") {
  output_slots slots;
  slots.out[0] = 20, slots.err[0] = 21, slots.out[1] = 22, slots.err[1] = 23;
  auto p = preamble(42, 7, slots);
  CHECK(p.find("exec 20</dev/null >/proc/42/fd/20 2>/proc/42/fd/21\n") != std::string::npos);
  CHECK(p.find("__sbx_r;\\exec 20</dev/null >/proc/42/fd/22 2>/proc/42/fd/23'") !=
        std::string::npos);
  CHECK(p.find("builtin readonly __sbx_l0=") != std::string::npos);
  CHECK(p.find("builtin readonly __sbx_le1=") != std::string::npos);
  CHECK(p.find("\\n\\n__sbx_s=$?") != std::string::npos);
  CHECK(p.find("__sbx_m1='__sbx_c=$(</proc/42/fd/7);") != std::string::npos);
}
