// The process registry against real children: start, exit codes, logs,
// kill of whole trees, escalation, shutdown, and log streams with backpressure.
#include <signal.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <chrono>
#include <functional>
#include <future>
#include <thread>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/thread_pool.hpp>

#include "process/kill.hpp"
#include "process/log_stream.hpp"
#include "process/process_registry.hpp"
#include "process/reaper.hpp"
#include "server/sse.hpp"
#include "session/session_manager.hpp"

using namespace sbx;
using process::process_info;
using process::process_status;

namespace {

config test_config(std::uint64_t kill_grace_ms = 5000, std::uint64_t log_bytes = 16 << 20) {
  config c;
  c.workspace = "/tmp";
  c.kill_grace_ms = kill_grace_ms;
  c.process_log_bytes = log_bytes;
  return c;
}

// A registry with its own I/O threads.
struct harness {
  explicit harness(config c = test_config())
      : cfg(std::move(c)),
        reaper(io),
        rt{cfg, io, blocking, reaper},
        sessions(rt),
        registry(rt, sessions),
        guard(io.get_executor()) {
    for (auto& t : threads) t = std::thread([this] { io.run(); });
  }
  ~harness() {
    registry.shutdown();
    guard.reset();
    io.stop();
    for (auto& t : threads) t.join();
    blocking.join();
  }

  result<process_info> start(process::start_request req) {
    std::promise<result<process_info>> answer;
    registry.start(std::move(req), [&](result<process_info> r) { answer.set_value(std::move(r)); });
    return answer.get_future().get();
  }
  result<process_info> start(const std::string& command) {
    process::start_request req;
    req.command = command;
    return start(std::move(req));
  }

  config cfg;
  boost::asio::io_context io;
  boost::asio::thread_pool blocking{1};
  process::reaper reaper;
  runtime rt;
  session_manager sessions;
  process_registry registry;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> guard;
  std::thread threads[2];
};

bool eventually(const std::function<bool()>& pred,
                std::chrono::milliseconds limit = std::chrono::seconds(10)) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));  // poll interval
  }
  return true;
}

bool is_final(process_status s) {
  return s == process_status::completed || s == process_status::failed ||
         s == process_status::killed || s == process_status::error;
}

process_info wait_final(harness& h, const std::string& id) {
  process_info last;
  REQUIRE(eventually([&] {
    last = h.registry.get(id).value();
    return is_final(last.status) && last.end_time.has_value();
  }));
  return last;
}

std::vector<process::tree_member> tree(pid_t leader) {
  return process::tree_of(process::scan_processes(), leader, true);
}

// Reads an SSE channel to its end, collecting the JSON events.
std::vector<nlohmann::json> drain(http::sse_channel& ch,
                                  std::chrono::milliseconds limit = std::chrono::seconds(20)) {
  std::vector<nlohmann::json> events;
  std::string pending;
  auto deadline = std::chrono::steady_clock::now() + limit;
  for (bool end = false; !end;) {
    REQUIRE(std::chrono::steady_clock::now() < deadline);
    std::promise<std::pair<std::string, bool>> got;
    ch.pull([&](http::sse_channel::frame_list frames, bool e) {
      std::string joined;
      for (const auto& f : frames) joined += f;
      got.set_value({std::move(joined), e});
    });
    auto [frames, e] = got.get_future().get();
    end = e;
    pending += frames;
    for (std::size_t at; (at = pending.find("\n\n")) != std::string::npos;) {
      auto frame = pending.substr(0, at);
      pending.erase(0, at + 2);
      REQUIRE(frame.rfind("data: ", 0) == 0);
      events.push_back(nlohmann::json::parse(frame.substr(6)));
    }
  }
  return events;
}

}  // namespace

TEST_CASE("a process that exits 0 completes with its output, pid and times") {
  harness h;
  auto p = h.start("echo out; echo err >&2");
  REQUIRE(p.ok());
  CHECK(p->pid.has_value());
  CHECK(p->id.rfind("proc_", 0) == 0);
  CHECK(p->id.size() == std::string("proc_").size() + 13 + 1 + 6);
  auto done = wait_final(h, p->id);
  CHECK(done.status == process_status::completed);
  CHECK(done.exit_code == 0);
  auto logs = h.registry.logs(p->id).value();
  CHECK(logs.out == "out\n");
  CHECK(logs.err == "err\n");
  CHECK_FALSE(logs.out_truncated);
}

TEST_CASE("finished processes share one output budget, the newest keep theirs") {
  auto c = test_config();
  c.finished_log_bytes = 300 * 1024;
  harness h(c);
  std::vector<std::string> ids;
  for (int i = 0; i < 3; ++i) {
    auto p = h.start("head -c 120000 /dev/zero");
    REQUIRE(p.ok());
    wait_final(h, p->id);
    ids.push_back(p->id);
  }
  // 3 x 120000 bytes exceed 300 KiB: the oldest record gives its output up.
  auto oldest = h.registry.logs(ids[0]).value();
  CHECK(oldest.out.empty());
  CHECK(oldest.out_truncated);
  for (int i = 1; i < 3; ++i) {
    auto logs = h.registry.logs(ids[i]).value();
    CHECK(logs.out.size() == 120000);
    CHECK_FALSE(logs.out_truncated);
  }
  CHECK(h.registry.get(ids[0]).value().status == process_status::completed);
}

TEST_CASE("exit N reaches failed with code N, a foreign signal gives 128+n") {
  harness h;
  auto a = h.start("exit 3");
  auto b = h.start("kill -USR1 $$");
  REQUIRE(a.ok());
  REQUIRE(b.ok());
  auto da = wait_final(h, a->id);
  CHECK(da.status == process_status::failed);
  CHECK(da.exit_code == 3);
  auto db = wait_final(h, b->id);
  CHECK(db.status == process_status::failed);
  CHECK(db.exit_code == 128 + SIGUSR1);
}

TEST_CASE("stdin is /dev/null and cwd/env overrides apply") {
  harness h;
  process::start_request req;
  req.command = "cat; pwd; echo \"$GREETING\"";
  req.cwd = "/usr";
  req.env = {{"GREETING", "hi there"}};
  auto p = h.start(std::move(req));
  REQUIRE(p.ok());
  CHECK(wait_final(h, p->id).exit_code == 0);
  CHECK(h.registry.logs(p->id)->out == "/usr\nhi there\n");
}

TEST_CASE("a missing working directory completes with exit code 1 and says why") {
  harness h;
  process::start_request req;
  req.command = "echo never";
  req.cwd = "/definitely/not/here";
  auto p = h.start(std::move(req));
  REQUIRE(p.ok());
  auto done = wait_final(h, p->id);
  CHECK(done.status == process_status::failed);
  CHECK(done.exit_code == 1);
  CHECK(h.registry.logs(p->id)->err == "Failed to change directory to /definitely/not/here\n");
}

TEST_CASE("empty commands are rejected, ids are unique while running") {
  harness h;
  auto empty = h.start("  \n\t");
  REQUIRE_FALSE(empty.ok());
  CHECK(empty.error().code == codes::invalid_command);
  CHECK(empty.error().message == "Invalid command: empty command provided");

  process::start_request req;
  req.command = "sleep 30";
  req.process_id = "my-proc";
  auto first = h.start(req);
  REQUIRE(first.ok());
  CHECK(first->id == "my-proc");
  auto again = h.start(req);
  REQUIRE_FALSE(again.ok());
  CHECK(again.error().code == codes::resource_busy);
  CHECK(again.error().http_status() == 409);
  CHECK(again.error().message == "Process ID 'my-proc' already exists");
  REQUIRE(h.registry.kill("my-proc", SIGKILL).ok());
  wait_final(h, "my-proc");
  // A finished record gives its id up.
  req.command = "true";
  auto reuse = h.start(req);
  REQUIRE(reuse.ok());
  CHECK(wait_final(h, "my-proc").status == process_status::completed);
}

TEST_CASE("kill ends the whole tree, also children that left the group") {
  harness h;
  auto p = h.start("sleep 300 & setsid sleep 301 & sleep 302 & wait");
  REQUIRE(p.ok());
  REQUIRE(eventually([&] { return tree(*p->pid).size() >= 4; }));
  auto members = tree(*p->pid);
  REQUIRE(h.registry.kill(p->id, SIGTERM).ok());
  CHECK(h.registry.get(p->id)->status == process_status::killed);
  auto done = wait_final(h, p->id);
  CHECK(done.status == process_status::killed);
  CHECK(done.exit_code == 128 + SIGTERM);
  CHECK(eventually([&] { return !process::any_alive(members); }, std::chrono::seconds(2)));
}

TEST_CASE("a tree that ignores SIGTERM is killed after the grace") {
  harness h(test_config(/*kill_grace_ms=*/200));
  auto p = h.start("trap '' TERM; sleep 300 & wait; wait");
  REQUIRE(p.ok());
  REQUIRE(eventually([&] { return tree(*p->pid).size() >= 2; }));
  auto members = tree(*p->pid);
  auto t0 = std::chrono::steady_clock::now();
  REQUIRE(h.registry.kill(p->id, SIGTERM).ok());
  CHECK(eventually([&] { return !process::any_alive(members); }, std::chrono::seconds(3)));
  CHECK(std::chrono::steady_clock::now() - t0 >= std::chrono::milliseconds(150));
  auto done = wait_final(h, p->id);
  CHECK(done.status == process_status::killed);
  CHECK(done.exit_code == 128 + SIGKILL);
}

TEST_CASE("a stopped tree ends at SIGTERM, not at SIGKILL after the grace") {
  harness h(test_config(/*kill_grace_ms=*/60'000));
  auto p = h.start("sleep 300 & wait");
  REQUIRE(p.ok());
  REQUIRE(eventually([&] { return tree(*p->pid).size() >= 2; }));
  auto members = tree(*p->pid);
  REQUIRE(::kill(-*p->pid, SIGSTOP) == 0);
  REQUIRE(h.registry.kill(p->id, SIGTERM).ok());
  CHECK(eventually([&] { return !process::any_alive(members); }, std::chrono::seconds(10)));
  auto done = wait_final(h, p->id);
  CHECK(done.status == process_status::killed);
  CHECK(done.exit_code == 128 + SIGTERM);
}

TEST_CASE("kill answers for unknown and finished processes") {
  harness h;
  auto unknown = h.registry.kill("nope", SIGTERM);
  REQUIRE_FALSE(unknown.ok());
  CHECK(unknown.error().code == codes::process_not_found);
  CHECK(unknown.error().message == "Process nope not found");
  auto p = h.start("true");
  REQUIRE(p.ok());
  wait_final(h, p->id);
  auto late = h.registry.kill(p->id, SIGTERM);
  REQUIRE_FALSE(late.ok());
  CHECK(late.error().code == codes::command_not_found);
  CHECK(late.error().http_status() == 404);
}

TEST_CASE("kill_all counts the running processes it killed") {
  harness h;
  std::vector<std::string> ids;
  for (int i = 0; i < 5; ++i) ids.push_back(h.start("sleep 300")->id);
  auto done = h.start("true");
  wait_final(h, done->id);
  CHECK(h.registry.kill_all(SIGTERM) == 5);
  for (const auto& id : ids) CHECK(wait_final(h, id).status == process_status::killed);
  CHECK(h.registry.kill_all(SIGTERM) == 0);
  auto listed = h.registry.list();
  CHECK(listed.size() == 6);
  CHECK(listed.front().id == ids.front());  // creation order
  CHECK(h.registry.list(process_status::completed).size() == 1);
}

TEST_CASE("a grandchild holding the pipe does not keep the process from finishing") {
  std::vector<process::tree_member> lingering;
  {
    harness h;
    auto p = h.start("sleep 300 & echo started");
    REQUIRE(p.ok());
    auto done = wait_final(h, p->id);
    CHECK(done.status == process_status::completed);
    CHECK(h.registry.logs(p->id)->out == "started\n");
    auto rest = process::tree_of(process::scan_processes(), *p->pid, false);
    REQUIRE(rest.size() == 1);
    lingering = rest;
  }  // shutdown ends what is left of the tree
  CHECK(eventually([&] { return !process::any_alive(lingering); }, std::chrono::seconds(3)));
}

TEST_CASE("shutdown ends every running tree") {
  std::vector<process::tree_member> members;
  {
    harness h;
    for (int i = 0; i < 3; ++i) {
      auto p = h.start("sleep 300 & sleep 300; wait");
      REQUIRE(p.ok());
      REQUIRE(eventually([&] { return tree(*p->pid).size() >= 3; }));
      process::merge_members(members, tree(*p->pid));
    }
    auto t0 = std::chrono::steady_clock::now();
    h.registry.shutdown();
    CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(2));
    auto after = h.start("true");
    CHECK_FALSE(after.ok());
  }
  CHECK(eventually([&] { return !process::any_alive(members); }, std::chrono::seconds(2)));
}

TEST_CASE("logs keep the newest bytes within the bound") {
  harness h(test_config(5000, /*log_bytes=*/4096));
  auto p = h.start("head -c 100000 /dev/zero | tr '\\0' a; echo; echo tail");
  REQUIRE(p.ok());
  wait_final(h, p->id);
  auto logs = h.registry.logs(p->id).value();
  CHECK(logs.out_truncated);
  CHECK(logs.out.size() <= 4096);
  CHECK(logs.out.size() > 2000);
  CHECK(logs.out.substr(logs.out.size() - 6) == "\ntail\n");
}

TEST_CASE("every log stream gets all output from the start, then the exit event") {
  harness h;
  auto p = h.start("for i in $(seq 1 200); do echo line $i; echo warn $i >&2; done");
  REQUIRE(p.ok());
  auto rec = h.registry.find(p->id).value();
  std::vector<std::shared_ptr<http::sse_channel>> channels;
  for (int i = 0; i < 8; ++i) {
    auto ch = std::make_shared<http::sse_channel>();
    rec->attach(
        std::make_shared<process::log_stream>(ch, process::log_stream::style::process_logs));
    channels.push_back(ch);
  }
  std::string want_out, want_err;
  for (int i = 1; i <= 200; ++i) {
    want_out += "line " + std::to_string(i) + "\n";
    want_err += "warn " + std::to_string(i) + "\n";
  }
  for (auto& ch : channels) {
    auto events = drain(*ch);
    REQUIRE(events.size() >= 3);
    CHECK(events.front()["type"] == "process_info");
    CHECK(events.front()["processId"] == p->id);
    std::string out, err;
    for (std::size_t i = 1; i + 1 < events.size(); ++i) {
      CHECK(events[i]["processId"] == p->id);
      CHECK(events[i]["timestamp"].is_string());
      (events[i]["type"] == "stdout" ? out : err) += events[i]["data"].get<std::string>();
    }
    CHECK(out == want_out);
    CHECK(err == want_err);
    CHECK(events.back()["type"] == "exit");
    CHECK(events.back()["exitCode"] == 0);
    CHECK(events.back()["data"] == "Process completed with exit code 0");
  }
}

TEST_CASE("the exec stream holds the pipes while its client is behind") {
  harness h;
  const std::size_t total = 8 << 20;
  auto ch = std::make_shared<http::sse_channel>();
  process::start_request req;
  req.command = "head -c " + std::to_string(total) + " /dev/zero | tr '\\0' x";
  req.primary = std::make_shared<process::log_stream>(ch, process::log_stream::style::exec);
  auto p = h.start(std::move(req));
  REQUIRE(p.ok());
  // Nobody reads the channel: the command must stall, not the daemon buffer.
  auto stalled = [&] {
    auto logs = h.registry.logs(p->id).value();
    return logs.out.size() < 4u << 20 && h.registry.get(p->id)->status == process_status::running;
  };
  std::this_thread::sleep_for(
      std::chrono::milliseconds(300));  // give a runaway reader time to show
  CHECK(stalled());
  auto events = drain(*ch);
  REQUIRE(events.size() >= 3);
  CHECK(events.front()["type"] == "start");
  std::size_t bytes = 0;
  for (std::size_t i = 1; i + 1 < events.size(); ++i) {
    CHECK(events[i]["type"] == "stdout");
    CHECK_FALSE(events[i].contains("processId"));
    bytes += events[i]["data"].get<std::string>().size();
  }
  CHECK(bytes == total);
  CHECK(events.back()["type"] == "complete");
  CHECK(events.back()["exitCode"] == 0);
}

TEST_CASE("a log stream whose client leaves detaches and the process keeps running") {
  harness h;
  auto ch = std::make_shared<http::sse_channel>();
  process::start_request req;
  req.command = "echo first; sleep 0.3; echo second";
  req.primary = std::make_shared<process::log_stream>(ch, process::log_stream::style::exec);
  std::weak_ptr<process::output_reader> reader = req.primary;
  auto p = h.start(std::move(req));
  REQUIRE(p.ok());
  ch->cancel();
  CHECK(eventually([&] { return reader.expired(); }));
  auto done = wait_final(h, p->id);
  CHECK(done.status == process_status::completed);
  CHECK(h.registry.logs(p->id)->out == "first\nsecond\n");
}
