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

TEST_CASE("command_script quotes the text and redirects into the daemon's descriptors") {
  auto script = command_script("echo 'hi'", 42, 8, 9, std::nullopt, {});
  CHECK(script.find("__sbx_c='echo '\\''hi'\\'''") != std::string::npos);
  CHECK(script.find(">/proc/42/fd/8") != std::string::npos);
  CHECK(script.find("2>/proc/42/fd/9") != std::string::npos);
  CHECK(script.back() == '\n');
  auto sub = command_script("true", 42, 8, 9, std::string("/tmp/it's"), {{"A", "x'y"}});
  CHECK(sub.find("builtin cd -- '/tmp/it'\\''s'") != std::string::npos);
  CHECK(sub.find("builtin export A='x'\\''y'") != std::string::npos);
}

TEST_CASE("command_line only expands the stored text, so it stays short") {
  CHECK(command_line() == "builtin eval \"$__sbx_l\"\n");
  auto p = preamble(42, 7);
  CHECK(p.find("builtin readonly __sbx_l='__sbx_p=$?;builtin eval \"$(</proc/42/fd/7)\";"
               "__sbx_r'\n") != std::string::npos);
}
