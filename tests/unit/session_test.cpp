// The session engine without HTTP: a real io_context, reaper and bash.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <filesystem>
#include <future>
#include <optional>
#include <thread>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/thread_pool.hpp>

#include "core/config.hpp"
#include "process/reaper.hpp"
#include "session/session_manager.hpp"

using namespace sbx;

namespace {

struct engine {
  config cfg;
  boost::asio::io_context io;
  boost::asio::thread_pool blocking{1};
  process::reaper reaper{io};
  runtime rt{cfg, io, blocking, reaper};
  session_manager sessions{rt};
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> guard{io.get_executor()};
  std::thread thread{[this] { io.run(); }};

  explicit engine(config c = {}) : cfg(std::move(c)) {}
  ~engine() {
    sessions.shutdown();
    guard.reset();
    io.stop();
    thread.join();
    blocking.join();
  }

  result<command_result> run(const std::string& id, std::string command,
                             std::uint64_t timeout_ms = 0) {
    command_request req;
    req.command = std::move(command);
    req.timeout_ms = timeout_ms;
    return run(id, std::move(req));
  }

  result<command_result> run(const std::string& id, command_request req) {
    std::promise<result<command_result>> p;
    auto f = p.get_future();
    sessions.execute(id, std::move(req),
                     [&p](result<command_result> r) { p.set_value(std::move(r)); });
    REQUIRE(f.wait_for(std::chrono::seconds(30)) == std::future_status::ready);
    return f.get();
  }

  result<session_context> context(const std::string& id) {
    std::promise<result<session_context>> p;
    auto f = p.get_future();
    sessions.context(id, [&p](result<session_context> r) { p.set_value(std::move(r)); });
    REQUIRE(f.wait_for(std::chrono::seconds(10)) == std::future_status::ready);
    return f.get();
  }
};

config test_config() {
  config c;
  c.workspace = "/tmp";
  c.max_output_bytes = 64 * 1024 * 1024;
  return c;
}

}  // namespace

TEST_CASE("session engine runs commands with persistent state") {
  engine e(test_config());
  auto r = e.run("a", "cd /usr && export X=1 && f() { echo f$1; }");
  REQUIRE(r.ok());
  CHECK(r->exit_code == 0);
  r = e.run("a", "pwd; echo $X; f 2; echo err >&2; false");
  REQUIRE(r.ok());
  CHECK(r->out == "/usr\n1\nf2\n");
  CHECK(r->err == "err\n");
  CHECK(r->exit_code == 1);
  CHECK(e.sessions.cwd_of("a") == "/usr");
}

TEST_CASE("heredoc, trailing comment and syntax error") {
  engine e(test_config());
  auto r = e.run("h", "cat <<EOF\nx\nEOF");
  REQUIRE(r.ok());
  CHECK(r->out == "x\n");
  r = e.run("h", "echo y # comment");
  REQUIRE(r.ok());
  CHECK(r->out == "y\n");
  r = e.run("h", "fi fi (");
  REQUIRE(r.ok());
  CHECK(r->exit_code == 2);
  CHECK(r->err.find("syntax error") != std::string::npos);
  r = e.run("h", "echo alive");
  REQUIRE(r.ok());
  CHECK(r->out == "alive\n");
}

TEST_CASE("exit N reports the shell's death and the next command gets a fresh shell") {
  engine e(test_config());
  REQUIRE(e.run("x", "export GONE=1").ok());
  auto r = e.run("x", "echo some output; echo why >&2; exit 3");
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message.find("Shell terminated unexpectedly (exit code: 3)") !=
        std::string::npos);
  // The end of the command's stderr says why.
  CHECK(r.error().message.find("restarted for the next command. The command's stderr: why") !=
        std::string::npos);
  r = e.run("x", "set -u; echo \"$UNSET_FOR_SURE\"");
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message.find("UNSET_FOR_SURE: unbound variable") != std::string::npos);
  r = e.run("x", "echo ${GONE:-fresh}");
  REQUIRE(r.ok());
  CHECK(r->out == "fresh\n");
}

TEST_CASE("timeout stops the whole command and the session goes on in a fresh shell") {
  engine e(test_config());
  auto marker = std::filesystem::temp_directory_path() /
                ("sbx-timeout-later-step-" + std::to_string(::getpid()));
  std::filesystem::remove(marker);
  REQUIRE(e.run("t", "cd /usr; export SET_BEFORE=1").ok());
  // The steps after the one running at the deadline never run.
  auto r = e.run("t", "sleep 20; touch " + marker.string() + "; sleep 20", 200);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message.find("Command timeout after 200ms") != std::string::npos);
  CHECK(r.error().message.find("fresh shell") != std::string::npos);
  r = e.run("t", "echo \"next ${SET_BEFORE:-unset}\"; pwd");
  REQUIRE(r.ok());
  CHECK(r->out == "next unset\n" + test_config().workspace + "\n");
  CHECK_FALSE(std::filesystem::exists(marker));
}

TEST_CASE("an ERR trap fires once per failure, as in a script") {
  engine e(test_config());
  REQUIRE(e.run("errtrap", "trap 'echo ERR-TRAP' ERR").ok());
  auto r = e.run("errtrap", "false; echo after");
  REQUIRE(r.ok());
  CHECK(r->out == "ERR-TRAP\nafter\n");
  r = e.run("errtrap", "false");
  REQUIRE(r.ok());
  CHECK(r->exit_code == 1);
  CHECK(r->out == "ERR-TRAP\n");
  // The previous status is restored without the trap firing again.
  r = e.run("errtrap", "echo ok");
  REQUIRE(r.ok());
  CHECK(r->out == "ok\n");
}

TEST_CASE("background job does not delay completion or leak into the next command") {
  engine e(test_config());
  auto t0 = std::chrono::steady_clock::now();
  auto r = e.run("b", "(sleep 2; echo late) & echo now");
  REQUIRE(r.ok());
  CHECK(r->out == "now\n");
  CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::milliseconds(1500));
  r = e.run("b", "echo second");
  REQUIRE(r.ok());
  CHECK(r->out == "second\n");
}

TEST_CASE("a background job's later output stays out of the next command") {
  engine e(test_config());
  auto dir = e.run("bg", "mktemp -d");
  REQUIRE(dir.ok());
  std::string d = dir->out.substr(0, dir->out.size() - 1);
  auto r = e.run("bg", "(until [ -e " + d +
                           "/go ]; do sleep 0.01; done; echo late; echo late-err >&2; touch " + d +
                           "/done) & echo now");
  REQUIRE(r.ok());
  CHECK(r->out == "now\n");
  r = e.run("bg",
            "touch " + d + "/go; until [ -e " + d + "/done ]; do sleep 0.01; done; echo second");
  REQUIRE(r.ok());
  CHECK(r->out == "second\n");
  CHECK(r->err.empty());
  r = e.run("bg", "echo third; rm -r " + d);
  REQUIRE(r.ok());
  CHECK(r->out == "third\n");
}

TEST_CASE("short and long commands, with and without per-command cwd/env") {
  engine e(test_config());
  for (std::size_t n : {1, 80, 95, 96, 97, 200, 5000}) {
    std::string word(n, 'w');
    auto r = e.run("len", "echo " + word);
    REQUIRE(r.ok());
    CHECK(r->out == word + "\n");
    command_request req;
    req.command = "echo \"$X\" " + word + "; pwd";
    req.cwd = "/usr";
    req.env = {{"X", "it's"}};
    auto sub = e.run("len", std::move(req));
    REQUIRE(sub.ok());
    CHECK(sub->out == "it's " + word + "\n/usr\n");
  }
  auto r = e.run("len", "pwd; echo \"[$X]\"");
  REQUIRE(r.ok());
  CHECK(r->out == "/tmp\n[]\n");
}

TEST_CASE("xtrace output is the same for every command and ends with set +x") {
  engine e(test_config());
  REQUIRE(e.run("x", "set -x").ok());
  std::string first;
  for (int i = 0; i < 5; ++i) {
    auto r = e.run("x", "echo hi");
    REQUIRE(r.ok());
    CHECK(r->out == "hi\n");
    CHECK(r->err.find("+ echo hi\n") != std::string::npos);
    if (i == 0) first = r->err;
    CHECK(r->err == first);
  }
  auto r = e.run("x", "false");
  REQUIRE(r.ok());
  CHECK(r->exit_code == 1);
  r = e.run("x", "echo $?; set +x");
  REQUIRE(r.ok());
  CHECK(r->out == "1\n");
  r = e.run("x", "echo after");
  REQUIRE(r.ok());
  CHECK(r->out == "after\n");
  CHECK(r->err.empty());
}

TEST_CASE("commands see only stdin, stdout and stderr, and their redirections end with them") {
  engine e(test_config());
  auto r = e.run("fd", "ls /proc/self/fd");
  REQUIRE(r.ok());
  CHECK(r->out == "0\n1\n2\n3\n");
  r = e.run("fd", "exec >/dev/null 2>&1; echo hidden; echo hidden >&2");
  REQUIRE(r.ok());
  CHECK(r->out.empty());
  CHECK(r->err.empty());
  r = e.run("fd", "echo shown; echo shown-err >&2; cat");
  REQUIRE(r.ok());
  CHECK(r->out == "shown\n");
  CHECK(r->err == "shown-err\n");
  // A function named exec must not capture the shell's own descriptor moves.
  r = e.run("fd", "exec() { echo mine; }; echo defined");
  REQUIRE(r.ok());
  for (int i = 0; i < 3; ++i) {
    r = e.run("fd", "echo still-" + std::to_string(i));
    REQUIRE(r.ok());
    CHECK(r->out == "still-" + std::to_string(i) + "\n");
  }
}

TEST_CASE("under set -e a status errexit ignores does not end the session") {
  engine e(test_config());
  REQUIRE(e.run("errexit", "set -e; kept=yes; trap 'echo trapped >&2' ERR; test -d / && false || :")
              .ok());
  auto r = e.run("errexit", "[ -f /nonexistent ] && echo found");
  REQUIRE(r.ok());
  CHECK(r->exit_code == 1);
  CHECK(r->out.empty());
  CHECK(r->err.empty());  // no ERR trap: the failure was on the left of &&
  r = e.run("errexit", "! true");
  REQUIRE(r.ok());
  CHECK(r->exit_code == 1);
  r = e.run("errexit", "echo \"$kept $?\"");  // $? carries over without tripping errexit
  REQUIRE(r.ok());
  CHECK(r->out == "yes 1\n");
  CHECK(r->err.empty());
  // A command that fails outright ends the shell, as it would at a prompt.
  r = e.run("errexit", "false; echo not-reached");
  CHECK_FALSE(r.ok());
}

TEST_CASE("under set -e a syntax error fails the command, not the session") {
  engine e(test_config());
  REQUIRE(e.run("syntax", "set -e; cd /usr; export KEEP=1").ok());
  auto r = e.run("syntax", "echo never-runs\nif then fi");
  REQUIRE(r.ok());
  CHECK(r->exit_code == 2);
  CHECK(r->out.empty());  // a command that does not parse does not run
  CHECK(r->err.find("syntax error near unexpected token") != std::string::npos);
  CHECK(r->err.find("__sbx") == std::string::npos);
  r = e.run("syntax", "echo \"$KEEP $PWD $?\"; [[ $- == *e* ]] && echo errexit-on");
  REQUIRE(r.ok());
  CHECK(r->out == "1 /usr 2\nerrexit-on\n");
  // Options its own later lines need to parse are set as it runs.
  r = e.run("syntax", "shopt -s extglob\ncase ab in @(ab|cd)) echo matched;; esac");
  REQUIRE(r.ok());
  CHECK(r->out == "matched\n");
  // Still: a command that fails outright ends the shell, as it would at a prompt.
  CHECK_FALSE(e.run("syntax", "false; echo not-reached").ok());
}

TEST_CASE("under set -e a here-document or trailing backslash keeps to the command's text") {
  engine e(test_config());
  REQUIRE(e.run("heredoc", "set -e").ok());
  auto r = e.run("heredoc", "cat <<EOF\nline one\n\nline three");  // unterminated
  REQUIRE(r.ok());
  CHECK(r->out == "line one\n\nline three\n");
  r = e.run("heredoc", "echo after \\");  // continues onto nothing
  REQUIRE(r.ok());
  CHECK(r->out == "after\n");
  r = e.run("heredoc", "test -n \"\" && echo never");
  REQUIRE(r.ok());
  CHECK(r->exit_code == 1);
}

TEST_CASE("a command that lowers the descriptor limit keeps its output and the session") {
  engine e(test_config());
  auto r = e.run("nofile", "kept=yes; ulimit -n 32; echo set");
  REQUIRE(r.ok());
  CHECK(r->out == "set\n");
  CHECK(r->err.empty());
  r = e.run("nofile", "echo $kept; ulimit -n; ls /proc/self/fd");
  REQUIRE(r.ok());
  CHECK(r->out == "yes\n32\n0\n1\n2\n3\n");
  CHECK(r->err.empty());
}

TEST_CASE("a function named builtin or a disabled builtin cannot hang the session") {
  engine e(test_config());
  auto r = e.run("hijack", "kept=yes; builtin() { echo hijacked; }; echo defined");
  REQUIRE(r.ok());
  // The function ran for the runner's steps until the repair removed it.
  CHECK(r->out.rfind("defined\nhijacked\n", 0) == 0);
  CHECK(r->err.find("a function of that name is removed") != std::string::npos);
  r = e.run("hijack", "echo $kept; type -t builtin");
  REQUIRE(r.ok());
  CHECK(r->out == "yes\nbuiltin\n");
  CHECK(r->err.empty());

  r = e.run("hijack", "enable -n printf; enable -n eval; echo disabled");
  REQUIRE(r.ok());
  CHECK(r->out == "disabled\n");
  CHECK(r->err.find("enabled again") != std::string::npos);
  r = e.run("hijack", "printf '%s\\n' $kept; shopt -o posix");
  REQUIRE(r.ok());
  CHECK(r->out == "yes\nposix          \toff\n");

  r = e.run("hijack", "enable -n unset; echo unset-disabled");
  REQUIRE(r.ok());
  CHECK(r->out == "unset-disabled\n");
  r = e.run("hijack", "unset kept; echo \"[${kept-gone}]\"");
  REQUIRE(r.ok());
  CHECK(r->out == "[gone]\n");

  // Already in POSIX mode, the repair leaves the mode on.
  r = e.run("hijack", "set -o posix; builtin() { :; }; echo posix");
  REQUIRE(r.ok());
  r = e.run("hijack", "shopt -o posix; type -t builtin");
  REQUIRE(r.ok());
  CHECK(r->out == "posix          \ton\nbuiltin\n");
}

TEST_CASE("a command that leaves the shell unable to report fails instead of hanging") {
  engine e(test_config());
  auto r = e.run("ro", "readonly __sbx_c; echo marked");
  REQUIRE(r.ok());
  CHECK(r->out == "marked\n");
  CHECK(r->err.find("sandboxd: restored") == std::string::npos);  // no repair applies
  // The next command line cannot even be read in: the shell takes no
  // command and reports nothing, and is replaced.
  r = e.run("ro", "echo never");
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code == codes::command_execution_error);
  CHECK(r.error().message.find("could not report its exit status") != std::string::npos);
  CHECK(r.error().message.find("readonly variable") != std::string::npos);
  r = e.run("ro", "echo fresh; ( __sbx_c=x ) && echo writable");
  REQUIRE(r.ok());
  CHECK(r->out == "fresh\nwritable\n");

  // A long command is not mistaken for a lost report.
  r = e.run("ro", "sleep 1.3; echo slept");
  REQUIRE(r.ok());
  CHECK(r->out == "slept\n");
}

TEST_CASE("50 MB of output arrives whole") {
  engine e(test_config());
  auto r = e.run("big", "head -c 52428800 /dev/zero | tr '\\0' 'z'");
  REQUIRE(r.ok());
  CHECK(r->out.size() == 52428800);
  CHECK(r->out.find_first_not_of('z') == std::string::npos);
}

TEST_CASE("output cap stops the command with an error") {
  auto c = test_config();
  c.max_output_bytes = 1024;
  engine e(c);
  auto r = e.run("cap", "yes");
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message.find("Output too large") != std::string::npos);
  r = e.run("cap", "echo ok");
  REQUIRE(r.ok());
  CHECK(r->out == "ok\n");
}

TEST_CASE("parallel sessions run concurrently") {
  engine e(test_config());
  auto t0 = std::chrono::steady_clock::now();
  std::vector<std::future<result<command_result>>> runs;
  for (int i = 0; i < 4; ++i)
    runs.push_back(std::async(std::launch::async, [&e, i] {
      return e.run("p" + std::to_string(i), "sleep 1; echo " + std::to_string(i));
    }));
  for (int i = 0; i < 4; ++i) {
    auto r = runs[static_cast<std::size_t>(i)].get();
    REQUIRE(r.ok());
    CHECK(r->out == std::to_string(i) + "\n");
  }
  CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::milliseconds(3500));
}

TEST_CASE("context reports cwd and exported environment") {
  engine e(test_config());
  REQUIRE(e.run("c", "cd /usr; export CTX_VAR='a b' CTX_LINES=$'one\\ntwo\\tthree'").ok());
  auto ctx = e.context("c");
  REQUIRE(ctx.ok());
  CHECK(ctx->cwd == "/usr");
  CHECK(std::find(ctx->env.begin(), ctx->env.end(), "CTX_VAR=a b") != ctx->env.end());
  CHECK(std::find(ctx->env.begin(), ctx->env.end(), "CTX_LINES=one\ntwo\tthree") != ctx->env.end());
  CHECK(std::find(ctx->env.begin(), ctx->env.end(), "LANG=C.UTF-8") != ctx->env.end());
}

TEST_CASE("context while a command runs has the environment the commands before it exported") {
  engine e(test_config());
  auto started =
      std::filesystem::temp_directory_path() / ("sbx-busy-started-" + std::to_string(::getpid()));
  std::filesystem::remove(started);
  REQUIRE(e.run("busy", "cd /usr; export BEFORE_BUSY=set-by-export").ok());
  auto busy = std::async(std::launch::async, [&e, &started] {
    return e.run("busy", "touch " + started.string() + "; sleep 1");
  });
  // Asked while the session is busy: answered at once, from what is known.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!std::filesystem::exists(started) && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));  // poll interval
  REQUIRE(std::filesystem::exists(started));
  auto ctx = e.context("busy");
  REQUIRE(ctx.ok());
  CHECK(ctx->cwd == "/usr");
  CHECK(std::find(ctx->env.begin(), ctx->env.end(), "BEFORE_BUSY=set-by-export") != ctx->env.end());
  CHECK(busy.get().ok());
  std::filesystem::remove(started);
}

TEST_CASE("duplicate create says already exists") {
  engine e(test_config());
  REQUIRE(e.sessions.create({"dup", {}, {}}).ok());
  auto again = e.sessions.create({"dup", {}, {}});
  REQUIRE_FALSE(again.ok());
  CHECK(again.error().message.find("already exists") != std::string::npos);
}
