// Children started by the reaper's launcher: what they inherit (fds, signal
// dispositions, directory, environment), the PATH search they do themselves,
// the fallback when nothing can be exec'd, and the errors caught up front.
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <optional>
#include <sstream>
#include <string>
#include <thread>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include "process/reaper.hpp"

using namespace sbx;
namespace fs = std::filesystem;

namespace {

struct outcome {
  std::string out;
  process::exit_status status;
};

// Runs the reaper's context until pred holds or the limit passes.
bool drive(boost::asio::io_context& io, const std::function<bool()>& pred,
           std::chrono::seconds limit) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (!pred() && std::chrono::steady_clock::now() < deadline) {
    io.run_for(std::chrono::milliseconds(10));
    io.restart();
  }
  return pred();
}

// Runs one child with fd 1 on a pipe, reading it to the end and driving the
// reaper until the exit is reported.
outcome run(process::spawn_options opts) {
  boost::asio::io_context io;
  process::reaper reaper(io);
  int p[2];
  REQUIRE(pipe2(p, O_CLOEXEC) == 0);
  opts.fds.emplace_back(1, p[1]);
  std::optional<process::exit_status> status;
  auto pid = reaper.spawn(std::move(opts), [&](process::exit_status s) { status = s; });
  close(p[1]);
  REQUIRE(pid.ok());
  outcome o;
  char buf[4096];
  for (ssize_t n; (n = read(p[0], buf, sizeof buf)) > 0;) o.out.append(buf, n);
  close(p[0]);
  REQUIRE(drive(
      io, [&] { return status.has_value(); }, std::chrono::seconds(10)));
  o.status = *status;
  return o;
}

process::spawn_options shell(const std::string& script) {
  process::spawn_options o;
  o.argv = {"bash", "--norc", "--noprofile", "-c", script};
  o.env = {"PATH=/usr/local/bin:/usr/bin:/bin"};
  return o;
}

struct temp_dir {
  fs::path path;
  temp_dir() {
    char tmpl[] = "/tmp/sandboxd-launcher-XXXXXX";
    path = mkdtemp(tmpl);
  }
  ~temp_dir() { fs::remove_all(path); }
};

}  // namespace

TEST_CASE("a child gets only the fds it is given, default signals and an empty mask") {
  // The daemon's own fds (this test's, here) stay behind.
  int leaked = open("/dev/null", O_RDONLY);  // not close-on-exec
  REQUIRE(leaked >= 0);
  sigset_t block;
  sigemptyset(&block);
  sigaddset(&block, SIGUSR1);
  pthread_sigmask(SIG_BLOCK, &block, nullptr);
  signal(SIGPIPE, SIG_IGN);

  auto o = run(shell("cut -d' ' -f6 /proc/$$/stat; echo $$"));
  // Read by exec'd programs themselves (bash blocks SIGCHLD while it waits,
  // and holds pipe ends while it starts a pipeline).
  process::spawn_options direct;
  direct.argv = {"/usr/bin/grep", "-E", "^Sig(Blk|Ign)", "/proc/self/status"};
  auto sig = run(direct);
  direct.argv = {"/usr/bin/ls", "/proc/self/fd"};
  auto fds = run(direct);
  close(leaked);
  pthread_sigmask(SIG_UNBLOCK, &block, nullptr);
  signal(SIGPIPE, SIG_DFL);
  INFO(o.out + sig.out + fds.out);
  CHECK(o.status.code == 0);
  std::istringstream lines(o.out), sigs(sig.out);
  std::string blk, ign, sid, pid;
  std::getline(lines, sid);
  std::getline(lines, pid);
  std::getline(sigs, blk);
  std::getline(sigs, ign);
  CHECK(fds.out == "0\n1\n2\n3\n");  // 3: the directory ls is reading
  CHECK(blk == "SigBlk:\t0000000000000000");
  CHECK(ign == "SigIgn:\t0000000000000000");
  CHECK(sid == pid);  // setsid(): it leads its own session
}

TEST_CASE("the child searches PATH itself, after its chdir, and sets _") {
  temp_dir dir;
  auto tool = dir.path / "local-tool";
  std::ofstream(tool) << "#!/bin/sh\necho \"tool in $PWD with _=$_\"\n";
  fs::permissions(tool, fs::perms::owner_all);

  process::spawn_options o;
  o.argv = {"local-tool"};
  o.env = {"PATH=/nonexistent:.:/usr/bin", "_=/stale"};
  o.cwd = dir.path.string();
  o.search_path = "/nonexistent:.:/usr/bin";
  o.fallback_argv = {"bash", "--norc", "--noprofile", "-c", "echo fallback; exit 9"};
  auto r = run(o);
  CHECK(r.status.code == 0);
  // sh reports its own $_ differently; the environment is what counts.
  CHECK(r.out.rfind("tool in " + dir.path.string(), 0) == 0);

  process::spawn_options env_opts;
  env_opts.argv = {"env"};
  env_opts.env = {"PATH=/nonexistent:/usr/bin:/bin", "_=/stale", "KEEP=1"};
  env_opts.search_path = "/nonexistent:/usr/bin:/bin";
  env_opts.fallback_argv = {"bash", "-c", "exit 9"};
  auto e = run(env_opts);
  CHECK(e.status.code == 0);
  CHECK(e.out.find("_=/usr/bin/env\n") != std::string::npos);
  CHECK(e.out.find("_=/stale") == std::string::npos);
  CHECK(e.out.find("KEEP=1\n") != std::string::npos);
}

TEST_CASE("when nothing along PATH can be exec'd, the fallback runs") {
  temp_dir dir;
  auto script = dir.path / "no-shebang";
  std::ofstream(script) << "echo from a script without a shebang\n";
  fs::permissions(script, fs::perms::owner_all);
  auto locked = dir.path / "locked";
  std::ofstream(locked) << "#!/bin/sh\necho should not run\n";
  fs::permissions(locked, fs::perms::owner_read);

  auto fallback = [&](const std::string& name) {
    process::spawn_options o;
    o.argv = {name};
    o.env = {"PATH=" + dir.path.string() + ":/usr/bin:/bin"};
    o.search_path = dir.path.string() + ":/usr/bin:/bin";
    o.fallback_argv = {"bash", "--norc", "--noprofile", "-c", name};
    return run(o);
  };
  auto missing = fallback("no-such-program-anywhere");
  CHECK(missing.status.code == 127);

  auto no_shebang = fallback("no-shebang");  // ENOEXEC: bash runs it as a script
  CHECK(no_shebang.status.code == 0);
  CHECK(no_shebang.out == "from a script without a shebang\n");

  if (geteuid() != 0) {  // root may execute anything with an x bit; this has none
    auto denied = fallback("locked");
    CHECK(denied.status.code == 126);
  }
}

TEST_CASE("a missing program or directory fails the spawn itself") {
  boost::asio::io_context io;
  process::reaper reaper(io);
  process::spawn_options o;
  o.argv = {"/nonexistent/program"};
  auto r = reaper.spawn(o, [](process::exit_status) {});
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message.find("No such file or directory") != std::string::npos);

  o.argv = {"true"};
  o.cwd = "/nonexistent-dir";
  auto d = reaper.spawn(o, [](process::exit_status) {});
  REQUIRE_FALSE(d.ok());
  CHECK(d.error().message.find("/nonexistent-dir") != std::string::npos);
  CHECK(reaper.live() == 0);
}

TEST_CASE("many quick children are all reaped with their exit codes") {
  boost::asio::io_context io;
  process::reaper reaper(io);
  int done = 0, right = 0;
  for (int i = 0; i < 200; ++i) {
    process::spawn_options o;
    o.argv = {"bash", "--norc", "--noprofile", "-c", "exit " + std::to_string(i % 7)};
    auto pid = reaper.spawn(o, [&, i](process::exit_status s) {
      ++done;
      right += s.code == i % 7;
    });
    REQUIRE(pid.ok());
  }
  CHECK(drive(
      io, [&] { return done == 200; }, std::chrono::seconds(30)));
  CHECK(right == 200);
  CHECK(reaper.live() == 0);
}

TEST_CASE("children launched from several threads while others are reaped all run") {
  boost::asio::io_context io;
  process::reaper reaper(io);
  auto guard = boost::asio::make_work_guard(io);
  std::thread reaping([&] { io.run(); });  // sweeps frames as exits arrive
  std::atomic<int> done{0}, clean{0};
  auto launch_many = [&](int count) {
    for (int i = 0; i < count; ++i) {
      process::spawn_options o;
      o.argv = {"/bin/sh", "-c", "exit 3"};
      auto pid = reaper.spawn(o, [&](process::exit_status s) {
        clean += s.code == 3;
        ++done;
      });
      CHECK(pid.ok());
    }
  };
  std::thread a(launch_many, 150), b(launch_many, 150);
  a.join();
  b.join();
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (done < 300 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));  // polled with a deadline
  guard.reset();
  io.stop();
  reaping.join();
  CHECK(done == 300);
  CHECK(clean == 300);
}
