// Which background commands skip bash, and what the exec'd program sees.
#include <catch2/catch.hpp>

#include <algorithm>

#include "process/direct_command.hpp"

using sbx::process::as_direct_command;
using sbx::process::direct_command_env;

namespace {

const std::vector<std::string> k_env = {"PATH=/nonexistent:/usr/bin:/bin", "HOME=/root", "SHLVL=1"};

bool has(const std::vector<std::string>& env, const std::string& entry) {
  return std::find(env.begin(), env.end(), entry) != env.end();
}

}  // namespace

TEST_CASE("a plain program call is exec'd directly, searched along the child's PATH") {
  auto d = as_direct_command("  sleep\t60 ", k_env);
  REQUIRE(d);
  CHECK(d->search_path == "/nonexistent:/usr/bin:/bin");
  CHECK(d->argv == std::vector<std::string>{"sleep", "60"});

  auto abs = as_direct_command("/bin/sh -c:x a=b --flag=1,2 x@y 50% +3 ./rel", k_env);
  REQUIRE(abs);
  CHECK(abs->argv.front() == "/bin/sh");
  CHECK(abs->argv.size() == 8);

  // Whether the program exists is the child's to find out (it falls back to
  // bash when it cannot exec one).
  CHECK(as_direct_command("no-such-program-here 1", k_env));
  CHECK(as_direct_command("./relative-program", k_env));
  CHECK(as_direct_command("/nonexistent/prog", k_env));
}

TEST_CASE("anything a shell would interpret goes through bash") {
  for (const char* cmd : {"echo hi",
                          "cd /tmp",
                          "exit 3",
                          "kill 1",
                          "true",
                          "FOO=1 sleep 1",
                          "sleep 1; true",
                          "sleep 1 &",
                          "sleep $X",
                          "sleep ~",
                          "ls *",
                          "ls a?",
                          "ls [ab]",
                          "sleep 'x'",
                          "sleep \"x\"",
                          "sleep 1 > f",
                          "sleep 1 | cat",
                          "sleep 1 # c",
                          "sleep {1,2}",
                          "sleep \\1",
                          "sleep 1\n2",
                          "if true",
                          "! sleep",
                          "time sleep 1",
                          "",
                          "   "})
    CHECK_FALSE(as_direct_command(cmd, k_env));
}

TEST_CASE("an exported function or a missing PATH keeps bash in charge") {
  std::vector<std::string> env = {"PATH=/usr/bin:/bin", "BASH_FUNC_sleep%%=() {  echo mine\n}"};
  CHECK_FALSE(as_direct_command("sleep 1", env));
  CHECK(as_direct_command("cat x", env));
  CHECK_FALSE(as_direct_command("sleep 1", {"HOME=/root"}));
}

TEST_CASE("the program gets the environment bash -c would give it") {
  auto env = direct_command_env({"PATH=/bin", "HOME=/root", "SHLVL=1"}, "/work");
  CHECK(has(env, "PWD=/work"));
  CHECK(has(env, "SHLVL=1"));
  CHECK(has(env, "HOME=/root"));
  CHECK(has(direct_command_env({"SHLVL=x"}, "/"), "SHLVL=0"));
  CHECK(has(direct_command_env({}, "/"), "SHLVL=0"));
}

TEST_CASE("environment entries are found and replaced by exact name") {
  sbx::process::environment env = {"PATHX=/x", "PATH=", "A=1=2"};
  CHECK(sbx::process::env_value(env, "PATH") == std::string_view(""));
  CHECK(sbx::process::env_value(env, "A") == std::string_view("1=2"));
  CHECK_FALSE(sbx::process::env_value(env, "PAT"));
  sbx::process::set_env(env, "PATH", "/bin");
  sbx::process::set_env(env, "NEW", "v");
  CHECK(env == sbx::process::environment{"PATHX=/x", "PATH=/bin", "A=1=2", "NEW=v"});
}

TEST_CASE("PATH lookup stops at a relative entry") {
  CHECK(sbx::process::find_in_path("/nonexistent:/usr/bin", "env") == "/usr/bin/env");
  CHECK_FALSE(sbx::process::find_in_path("/nonexistent:.:/usr/bin", "env"));
  CHECK_FALSE(sbx::process::find_in_path("/usr/bin", "no-such-program-here"));
  CHECK_FALSE(sbx::process::find_in_path("/", "usr"));  // a directory is not a program
}
