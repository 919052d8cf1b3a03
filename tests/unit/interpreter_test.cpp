// The interpreter service against a stand-in executor (fixtures/executors),
// plus the pure protocol pieces: event parsing, MIME mapping, UTF-8 cuts.
#include <signal.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <optional>
#include <variant>

#include <boost/asio/io_context.hpp>
#include <boost/asio/thread_pool.hpp>

#include "core/config.hpp"
#include "core/runtime.hpp"
#include "interpreter/executor_command.hpp"
#include "interpreter/interpreter_service.hpp"
#include "interpreter/language.hpp"
#include "interpreter/protocol.hpp"
#include "process/reaper.hpp"
#include "server/sse.hpp"

using namespace std::chrono_literals;
using nlohmann::json;
using sbx::interp::language;

TEST_CASE("language names and aliases", "[interpreter]") {
  CHECK(sbx::interp::parse_language("Python3") == language::python);
  CHECK(sbx::interp::parse_language("NODE") == language::javascript);
  CHECK(sbx::interp::parse_language("js") == language::javascript);
  CHECK(sbx::interp::parse_language("ts") == language::typescript);
  CHECK_FALSE(sbx::interp::parse_language("ruby").has_value());
  CHECK_FALSE(sbx::interp::parse_language("").has_value());
}

TEST_CASE("the Python executor gets the print module found beside the executors", "[interpreter]") {
  namespace fs = std::filesystem;
  auto dir = fs::temp_directory_path() / ("sbx-executors-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  sbx::config cfg;
  cfg.executors_dir = dir.string();
  // None in the directory, and none beside the test binary.
  auto files = sbx::interp::locate_executor_files(cfg);
  CHECK(files.dir == dir.string());
  CHECK(files.python_print_module.empty());
  CHECK(sbx::interp::executor_argv(sbx::interp::language::python, files) ==
        std::vector<std::string>{sbx::interp::k_python, dir.string() + "/python_executor.py"});
  { std::ofstream(dir / "sandboxd_print.so") << "x"; }
  files = sbx::interp::locate_executor_files(cfg);
  CHECK(files.python_print_module == (dir / "sandboxd_print.so").string());
  CHECK(sbx::interp::executor_argv(sbx::interp::language::python, files).back() ==
        "--print-module=" + (dir / "sandboxd_print.so").string());
  // Only Python takes it.
  CHECK(sbx::interp::executor_argv(sbx::interp::language::javascript, files) ==
        std::vector<std::string>{"node", dir.string() + "/node_executor.mjs"});
  fs::remove_all(dir);
}

TEST_CASE("executor event lines", "[interpreter]") {
  using sbx::interp::parse_event_line;
  auto ev = parse_event_line(R"({"type":"done","id":"a","success":true,"execution_count":3})");
  REQUIRE(ev);
  CHECK((*ev)["execution_count"] == 3);
  CHECK(parse_event_line("{\"type\":\"ready\"}\r"));
  CHECK_FALSE(parse_event_line(""));
  CHECK_FALSE(parse_event_line("not json"));
  CHECK_FALSE(parse_event_line("[1,2]"));
  CHECK_FALSE(parse_event_line(R"({"kind":"done"})"));
  CHECK_FALSE(parse_event_line(R"({"type":7})"));
}

TEST_CASE("output frames are the bytes the JSON serialiser would write", "[interpreter]") {
  std::uint32_t seed = 12345;
  auto next = [&] { return seed = seed * 1103515245u + 12345u; };
  for (int round = 0; round < 2000; ++round) {
    std::string text;
    std::size_t n = next() % 40;
    for (std::size_t k = 0; k < n; ++k) {
      auto r = next() >> 8;
      // Mostly plain text, with quotes, backslashes, controls, UTF-8 and
      // bytes that are not UTF-8.
      const char* pool[] = {"a",    "\"",   "\\",       "\n",
                            "\x01", "\x1f", "\xC3\xA9", "\xF0\x9F\x98\x80",
                            "\xFF", "\xC3", "~"};
      text += (r % 3 == 0) ? pool[r % std::size(pool)]
                           : std::string(1, static_cast<char>('a' + r % 26));
    }
    for (bool err : {false, true})
      CHECK(sbx::interp::output_frame(err, text) ==
            sbx::http::sse_frame(json{{"type", err ? "stderr" : "stdout"}, {"text", text}}));
  }
}

TEST_CASE("commands are single JSON lines", "[interpreter]") {
  auto cmd = sbx::interp::execute_command("r1", "print('a')\nprint('b')");
  REQUIRE(cmd.back() == '\n');
  CHECK(cmd.find('\n') == cmd.size() - 1);
  auto parsed = json::parse(cmd);
  CHECK(parsed["type"] == "execute");
  CHECK(parsed["code"] == "print('a')\nprint('b')");
  auto conf = json::parse(sbx::interp::configure_command("/w", {{"A", "1"}}));
  CHECK(conf == json{{"type", "configure"}, {"cwd", "/w"}, {"env", {{"A", "1"}}}});
}

TEST_CASE("a MIME bundle becomes one result event with every format key", "[interpreter]") {
  using sbx::interp::result_event;
  auto frame = result_event({{"text/plain", "   a\n0  1"}, {"text/html", "<table></table>"}},
                            json::object());
  REQUIRE(frame);
  CHECK((*frame)["type"] == "result");
  CHECK((*frame)["text"] == "   a\n0  1");
  CHECK((*frame)["html"] == "<table></table>");
  CHECK((*frame)["metadata"] == json::object());

  auto chart =
      result_event({{"image/png", "iVBORw0KGgo="}, {"text/plain", "<Figure>"}}, {{"w", 1}});
  REQUIRE(chart);
  CHECK((*chart)["png"] == "iVBORw0KGgo=");
  CHECK((*chart)["metadata"]["w"] == 1);

  auto all = result_event({{"image/jpeg", "j"},
                           {"image/svg+xml", "<svg/>"},
                           {"text/latex", "$x$"},
                           {"text/markdown", "*m*"},
                           {"application/javascript", "1"},
                           {"application/json", {{"a", json::array({1, 2})}}}},
                          nullptr);
  REQUIRE(all);
  CHECK((*all)["jpeg"] == "j");
  CHECK((*all)["svg"] == "<svg/>");
  CHECK((*all)["latex"] == "$x$");
  CHECK((*all)["markdown"] == "*m*");
  CHECK((*all)["javascript"] == "1");
  CHECK((*all)["json"] == json{{"a", json::array({1, 2})}});  // a value, not a string
  CHECK((*all)["metadata"] == json::object());

  CHECK_FALSE(result_event({{"image/gif", "x"}}, json::object()));
  CHECK_FALSE(result_event("text", json::object()));
}

TEST_CASE("executor errors keep their class name and traceback", "[interpreter]") {
  auto e = sbx::interp::error_event_from({{"type", "error"},
                                          {"ename", "ZeroDivisionError"},
                                          {"evalue", "division by zero"},
                                          {"traceback", {"a", "b"}}});
  CHECK(e == json{{"type", "error"},
                  {"ename", "ZeroDivisionError"},
                  {"evalue", "division by zero"},
                  {"traceback", {"a", "b"}}});
  auto bare = sbx::interp::error_event_from({{"type", "error"}});
  CHECK(bare["ename"] == "Error");
  CHECK(bare["traceback"] == json::array());
}

TEST_CASE("UTF-8 sequences are never cut", "[interpreter]") {
  using sbx::interp::complete_utf8_prefix;
  std::string euro = "a\xE2\x82\xAC";  // a€
  CHECK(complete_utf8_prefix(euro) == 4);
  CHECK(complete_utf8_prefix(euro.substr(0, 3)) == 1);
  CHECK(complete_utf8_prefix(euro.substr(0, 2)) == 1);
  CHECK(complete_utf8_prefix("\xF0\x9F\x98") == 0);
  CHECK(complete_utf8_prefix("\xF0\x9F\x98\x80") == 4);
  CHECK(complete_utf8_prefix("plain") == 5);
  CHECK(complete_utf8_prefix("") == 0);
}

TEST_CASE("event lines are split across reads and bounded", "[interpreter]") {
  sbx::interp::line_splitter lines(8);
  lines.append("{\"a\"");
  CHECK_FALSE(lines.next());
  lines.append(":1}\n{\"b\":2}\nxx");
  CHECK(lines.next() == "{\"a\":1}");
  CHECK(lines.next() == "{\"b\":2}");
  CHECK_FALSE(lines.next());
  lines.append("yyyyyyyyyyyy");  // the unfinished line passes the limit
  lines.append("zz\nok\n");
  CHECK(lines.next() == "ok");
  CHECK(lines.dropped() == 1);
}

TEST_CASE("a large event line arrives whole in pieces and its buffer is released",
          "[interpreter]") {
  sbx::interp::line_splitter lines(16 * 1024 * 1024);
  const std::string big(4 * 1024 * 1024, 'x');
  lines.append("{\"first\":1}\n");
  for (std::size_t off = 0; off < big.size(); off += 65536) {
    lines.append(std::string_view(big).substr(off, 65536));
    if (off == 0) CHECK(lines.next() == "{\"first\":1}");
    CHECK_FALSE(lines.next());
  }
  lines.append("\n{\"after\":2}\n{\"part");
  auto line = lines.next();
  REQUIRE(line);
  CHECK(*line == big);
  CHECK(lines.next() == "{\"after\":2}");
  CHECK_FALSE(lines.next());
  lines.append("ial\":3}\n");
  CHECK(lines.next() == "{\"partial\":3}");
  CHECK_FALSE(lines.next());
  CHECK(lines.capacity() <= 256 * 1024);
  CHECK(lines.dropped() == 0);
}

TEST_CASE("a returned line is taken whole, and the bytes after it stay", "[interpreter]") {
  sbx::interp::line_splitter lines(16 * 1024 * 1024);
  const std::string big(1024 * 1024, 'x');
  lines.append("{\"first\":1}\n{\"sec");
  REQUIRE(lines.next() == "{\"first\":1}");
  CHECK(lines.take_returned() == "{\"first\":1}");  // copied: the rest of the buffer stays
  lines.append("ond\":2}\n");
  CHECK(lines.next() == "{\"second\":2}");
  for (std::size_t off = 0; off < big.size(); off += 65536)
    lines.append(std::string_view(big).substr(off, 65536));
  lines.append("\n{\"after\":3}\n{\"part");
  REQUIRE(lines.next());
  CHECK(lines.take_returned() == big);  // the line was the whole buffer: moved
  CHECK(lines.next() == "{\"after\":3}");
  CHECK_FALSE(lines.next());
  lines.append("ial\":4}\n");
  CHECK(lines.next() == "{\"partial\":4}");
  CHECK_FALSE(lines.next());
  CHECK_FALSE(lines.in_line());
  lines.append("{\"x\"");
  CHECK(lines.in_line());
  CHECK(lines.dropped() == 0);
}

TEST_CASE("line splitting matches a plain split for any cut of the stream", "[interpreter]") {
  std::string stream;
  for (int i = 0; i < 200; ++i)
    stream += std::string(static_cast<std::size_t>(i % 23), 'a' + i % 26) + "\n";
  std::vector<std::string> expected;
  for (std::size_t pos = 0, nl; (nl = stream.find('\n', pos)) != std::string::npos; pos = nl + 1)
    if (nl - pos <= 20) expected.push_back(stream.substr(pos, nl - pos));
  for (std::size_t piece : {1u, 2u, 3u, 7u, 64u, 1000u}) {
    sbx::interp::line_splitter lines(20);
    std::vector<std::string> got;
    for (std::size_t off = 0; off < stream.size(); off += piece) {
      lines.append(std::string_view(stream).substr(off, piece));
      while (auto l = lines.next()) got.emplace_back(*l);
    }
    CHECK(got == expected);
    CHECK(lines.dropped() == 200 - expected.size());
  }
}

// ---------------------------------------------------------------------------

namespace {

std::string fixture_dir() {
  return (std::filesystem::path(SANDBOXD_TEST_FIXTURES) / "executors").string();
}

struct harness {
  explicit harness(std::function<void(sbx::config&)> tune = {}) {
    ::signal(SIGPIPE,
             SIG_IGN);  // as in the daemon: a dead executor's pipe is an error, not a signal
    workspace = std::filesystem::temp_directory_path() /
                ("sbx-interp-" + std::to_string(::getpid()) + "-" + std::to_string(++serial()));
    std::filesystem::create_directories(workspace);
    cfg.workspace = workspace.string();
    cfg.executors_dir = fixture_dir();
    cfg.python_pool = {1, 4};
    cfg.javascript_pool = {0, 1};
    cfg.typescript_pool = {0, 1};
    cfg.kill_grace_ms = 2000;
    if (tune) tune(cfg);
    reaper = std::make_unique<sbx::process::reaper>(io);
    rt = std::make_unique<sbx::runtime>(sbx::runtime{cfg, io, blocking, *reaper});
    service = std::make_unique<sbx::interpreter_service>(*rt);
  }
  ~harness() {
    service->shutdown();
    run_until([] { return false; }, 50ms);
    service.reset();
    blocking.join();
    std::filesystem::remove_all(workspace);
  }

  static int& serial() {
    static int n = 0;
    return n;
  }

  bool run_until(const std::function<bool()>& done, std::chrono::milliseconds limit = 10s) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    while (!done()) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      io.restart();
      io.run_for(5ms);
    }
    return true;
  }

  sbx::result<sbx::code_context_info> create(sbx::code_context_options opts = {}) {
    std::optional<sbx::result<sbx::code_context_info>> out;
    service->create_context(std::move(opts),
                            [&](sbx::result<sbx::code_context_info> r) { out = std::move(r); });
    REQUIRE(run_until([&] { return out.has_value(); }));
    return std::move(*out);
  }

  struct stream {
    std::shared_ptr<sbx::http::sse_channel> channel;
    std::vector<json> events;
    bool ended = false;
  };

  static void consume(const std::shared_ptr<stream>& s) {
    s->channel->pull([s](sbx::http::sse_channel::frame_list list, bool end) {
      std::string frames;
      for (const auto& f : list) frames += f;
      std::size_t pos = 0;
      while ((pos = frames.find("data: ", pos)) != std::string::npos) {
        auto nl = frames.find("\n\n", pos);
        s->events.push_back(json::parse(frames.substr(pos + 6, nl - pos - 6)));
        pos = nl;
      }
      if (end)
        s->ended = true;
      else
        consume(s);
    });
  }

  // Starts a run; the stream fills as the I/O context runs.
  std::variant<std::shared_ptr<stream>, sbx::api_error> start(const std::string& ctx,
                                                              std::string code,
                                                              std::uint64_t timeout_ms = 0) {
    std::optional<std::variant<std::shared_ptr<stream>, sbx::api_error>> out;
    sbx::code_run_request req{ctx, std::move(code), std::nullopt, timeout_ms};
    service->execute(std::move(req), [&](sbx::result<std::shared_ptr<sbx::http::sse_channel>> r) {
      if (!r) {
        out = r.error();
        return;
      }
      auto s = std::make_shared<stream>();
      s->channel = *r;
      consume(s);
      out = s;
    });
    REQUIRE(run_until([&] { return out.has_value(); }));
    return *out;
  }

  std::vector<json> run(const std::string& ctx, std::string code, std::uint64_t timeout_ms = 0) {
    auto started = start(ctx, std::move(code), timeout_ms);
    REQUIRE(std::holds_alternative<std::shared_ptr<stream>>(started));
    auto s = std::get<std::shared_ptr<stream>>(started);
    REQUIRE(run_until([&] { return s->ended; }));
    return s->events;
  }

  std::filesystem::path workspace;
  sbx::config cfg;
  boost::asio::io_context io;
  boost::asio::thread_pool blocking{1};
  std::unique_ptr<sbx::process::reaper> reaper;
  std::unique_ptr<sbx::runtime> rt;
  std::unique_ptr<sbx::interpreter_service> service;
};

std::string joined(const std::vector<json>& events, const std::string& type) {
  std::string out;
  for (const auto& e : events)
    if (e["type"] == type) out += e["text"].get<std::string>();
  return out;
}

const json& last(const std::vector<json>& events) {
  REQUIRE_FALSE(events.empty());
  return events.back();
}

pid_t pid_of(harness& h, const std::string& ctx) {
  auto events = h.run(ctx, "import os\n=os.getpid()");
  for (const auto& e : events)
    if (e["type"] == "result") return std::stoi(e["text"].get<std::string>());
  FAIL("no pid result");
  return -1;
}

bool gone(pid_t pid) {
  return ::kill(pid, 0) != 0;
}

}  // namespace

TEST_CASE("a run streams output, results and completion in order", "[interpreter][service]") {
  harness h;
  auto ctx = h.create();
  REQUIRE(ctx);
  CHECK(ctx->id.size() == 36);
  CHECK(ctx->id[14] == '4');
  CHECK(ctx->cwd == h.cfg.workspace);

  auto events = h.run(ctx->id, "import sys\nprint('hi')\nprint('oops', file=sys.stderr)\n=1+1");
  CHECK(joined(events, "stdout") == "hi\n");
  CHECK(joined(events, "stderr") == "oops\n");
  REQUIRE(events.size() >= 3);
  CHECK(events[events.size() - 2] ==
        json{{"type", "result"}, {"text", "2"}, {"metadata", json::object()}});
  CHECK(last(events) == json{{"type", "execution_complete"}, {"execution_count", 1}});
}

namespace {

// The run as text: stdout as printed, each result as [format first-char size].
std::string outline(const std::vector<json>& events) {
  std::string out;
  for (const auto& e : events) {
    const auto& type = e["type"].get_ref<const std::string&>();
    if (type == "stdout") out += e["text"].get<std::string>();
    if (type != "result") continue;
    for (const char* format : {"html", "text"}) {
      if (!e.contains(format)) continue;
      const auto& body = e[format].get_ref<const std::string&>();
      out += std::string("[") + format + " " + body.substr(0, 1) + " " +
             std::to_string(body.size()) + "]";
    }
  }
  return out;
}

}  // namespace

TEST_CASE("large results keep their place among the output around them", "[interpreter][service]") {
  harness h;
  auto ctx = h.create();
  REQUIRE(ctx);
  auto events = h.run(ctx->id,
                      "for i in range(3):\n"
                      "    print('before', i)\n"
                      "    display({'text/html': str(i) * 3_000_000})\n"
                      "print('after')\n"
                      "=len('abc')");
  CHECK(outline(events) ==
        "before 0\n[html 0 3000000]before 1\n[html 1 3000000]before 2\n[html 2 3000000]after\n"
        "[text 3 1]");
  CHECK(last(events) == json{{"type", "execution_complete"}, {"execution_count", 1}});

  // An executor that ends right after a large result: the result still
  // comes first.
  auto died = h.run(ctx->id,
                    "import os\nprint('last words')\n"
                    "display({'text/html': 'x' * 3_000_000})\nos._exit(0)");
  CHECK(outline(died) == "last words\n[html x 3000000]");
  CHECK(last(died)["ename"] == "InterpreterDied");
  CHECK(h.run(ctx->id, "=7")[0]["text"] == "7");
}

TEST_CASE("state persists within a context and never crosses contexts", "[interpreter][service]") {
  harness h;
  auto a = h.create();
  auto b = h.create();
  REQUIRE(a);
  REQUIRE(b);
  h.run(a->id, "x = 41");
  auto again = h.run(a->id, "=x + 1");
  CHECK(again[0]["text"] == "42");
  auto other = h.run(b->id, "=x");
  CHECK(last(other)["type"] == "error");
  CHECK(last(other)["ename"] == "NameError");
}

TEST_CASE("a failing run ends with its error event", "[interpreter][service]") {
  harness h;
  auto ctx = h.create();
  auto events = h.run(ctx->id, "print('before')\n1/0");
  CHECK(joined(events, "stdout") == "before\n");
  CHECK(last(events)["ename"] == "ZeroDivisionError");
  CHECK(last(events)["evalue"] == "division by zero");
  CHECK_FALSE(last(events)["traceback"].empty());
  for (const auto& e : events) CHECK(e["type"] != "execution_complete");
}

TEST_CASE("cwd and env are applied to the context", "[interpreter][service]") {
  harness h;
  auto dir = h.workspace / "sub";
  std::filesystem::create_directories(dir);
  auto ctx = h.create({language::python, dir.string(), {{"GREETING", "hello"}}});
  REQUIRE(ctx);
  auto events = h.run(ctx->id, "import os\n=(os.getcwd(), os.environ['GREETING'])");
  CHECK(events[0]["text"] == "('" + dir.string() + "', 'hello')");

  auto bad = h.create({language::python, (h.workspace / "missing").string(), {}});
  REQUIRE_FALSE(bad);
  CHECK(bad.error().code == "VALIDATION_FAILED");
  CHECK(bad.error().message.find("cwd") != std::string::npos);
}

TEST_CASE("unknown and deleted contexts are not found", "[interpreter][service]") {
  harness h;
  auto unknown = h.start("nope", "1");
  REQUIRE(std::holds_alternative<sbx::api_error>(unknown));
  auto err = std::get<sbx::api_error>(unknown);
  CHECK(err.code == "CONTEXT_NOT_FOUND");
  CHECK(err.http_status() == 404);
  CHECK(err.message == "Context nope not found");
  CHECK(err.extra["error"] == "Context nope not found");
  CHECK(err.context["contextId"] == "nope");

  auto ctx = h.create();
  auto pid = pid_of(h, ctx->id);
  std::optional<sbx::status> deleted;
  h.service->delete_context(ctx->id, [&](sbx::status s) { deleted = s; });
  REQUIRE(h.run_until([&] { return deleted.has_value(); }));
  CHECK(deleted->ok());
  CHECK(h.run_until([&] { return gone(pid); }));
  CHECK(std::holds_alternative<sbx::api_error>(h.start(ctx->id, "1")));

  std::optional<sbx::status> again;
  h.service->delete_context(ctx->id, [&](sbx::status s) { again = s; });
  REQUIRE(h.run_until([&] { return again.has_value(); }));
  REQUIRE_FALSE(again->ok());
  CHECK(again->error().code == "CONTEXT_NOT_FOUND");
  CHECK(again->error().message == "Code context '" + ctx->id + "' not found");
}

TEST_CASE("runs in one context queue in arrival order", "[interpreter][service]") {
  harness h;
  auto ctx = h.create();
  auto first = std::get<std::shared_ptr<harness::stream>>(
      h.start(ctx->id, "import time\ntime.sleep(0.3)\norder = ['first']\nprint('one')"));
  auto second = std::get<std::shared_ptr<harness::stream>>(
      h.start(ctx->id, "order.append('second')\n=order"));
  REQUIRE(h.run_until([&] { return second->ended; }));
  CHECK(first->ended);
  CHECK(joined(first->events, "stdout") == "one\n");
  CHECK(second->events[0]["text"] == "['first', 'second']");
}

TEST_CASE("a timeout interrupts the run and the context stays usable", "[interpreter][service]") {
  harness h;
  auto ctx = h.create();
  h.run(ctx->id, "kept = 7");
  auto events = h.run(ctx->id, "import time\nprint('start')\ntime.sleep(30)", 300);
  CHECK(joined(events, "stdout") == "start\n");
  CHECK(last(events)["type"] == "error");
  CHECK(last(events)["ename"] == "TimeoutError");
  CHECK(last(events)["evalue"] == "Execution timed out after 300 ms");
  CHECK(h.run(ctx->id, "=kept")[0]["text"] == "7");
}

TEST_CASE("an executor that ignores the interrupt is replaced", "[interpreter][service]") {
  harness h([](sbx::config& c) { c.kill_grace_ms = 300; });
  auto ctx = h.create();
  h.run(ctx->id, "kept = 7");
  auto events = h.run(
      ctx->id, "import signal, time\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\ntime.sleep(30)",
      200);
  CHECK(last(events)["ename"] == "TimeoutError");
  CHECK(last(events)["evalue"].get<std::string>().find("state is lost") != std::string::npos);
  auto after = h.run(ctx->id, "=kept");
  CHECK(last(after)["ename"] == "NameError");  // a fresh interpreter
  CHECK(h.run(ctx->id, "=3")[0]["text"] == "3");
}

TEST_CASE("an executor dying mid-run or while idle is reported, then replaced",
          "[interpreter][service]") {
  harness h;
  auto ctx = h.create();
  auto died = h.run(ctx->id, "print('bye')\nimport os\nos._exit(3)");
  CHECK(joined(died, "stdout") == "bye\n");
  CHECK(last(died)["ename"] == "InterpreterDied");
  CHECK(last(died)["evalue"].get<std::string>().find("exited with code 3") != std::string::npos);
  CHECK(h.run(ctx->id, "=5")[0]["text"] == "5");

  auto pid = pid_of(h, ctx->id);
  h.run(ctx->id, "import os, threading\nthreading.Timer(0.05, lambda: os._exit(4)).start()");
  REQUIRE(h.run_until([&] { return gone(pid); }));
  // The exit is noticed through SIGCHLD; give the reaper a moment to run.
  std::vector<json> report;
  REQUIRE(h.run_until([&] {
    report = h.run(ctx->id, "=6");
    return last(report)["type"] == "error";
  }));
  CHECK(last(report)["ename"] == "InterpreterDied");
  CHECK(last(report)["evalue"].get<std::string>().find("code 4") != std::string::npos);
  CHECK(h.run(ctx->id, "=6")[0]["text"] == "6");
}

TEST_CASE("the pool bounds live executors and refills after a take", "[interpreter][service]") {
  harness h([](sbx::config& c) { c.python_pool = {1, 2}; });
  auto stats = [&] {
    std::optional<std::vector<sbx::interpreter_pool_stats>> out;
    h.service->pool_stats([&](std::vector<sbx::interpreter_pool_stats> s) { out = s; });
    REQUIRE(h.run_until([&] { return out.has_value(); }));
    return (*out)[0];
  };
  REQUIRE(h.run_until([&] { return stats().idle == 1; }));
  auto a = h.create();
  REQUIRE(a);
  REQUIRE(h.run_until([&] { return stats().idle == 1 && stats().live == 2; }));
  auto b = h.create();
  REQUIRE(b);
  // Both running code: neither can give its executor way to a new context.
  auto busy_a = h.start(a->id, "import time\ntime.sleep(30)");
  auto busy_b = h.start(b->id, "import time\ntime.sleep(30)");
  auto c = h.create();
  REQUIRE_FALSE(c);
  CHECK(c.error().code == "INTERPRETER_NOT_READY");
  CHECK(c.error().http_status() == 503);
  CHECK(c.error().message.find("not ready") != std::string::npos);

  std::optional<sbx::status> deleted;
  h.service->delete_context(a->id, [&](sbx::status s) { deleted = s; });
  REQUIRE(h.run_until([&] { return deleted.has_value(); }));
  auto d = h.create();
  REQUIRE(d);
  CHECK(h.run(d->id, "=1")[0]["text"] == "1");
}

TEST_CASE("a client that goes away interrupts its run", "[interpreter][service]") {
  harness h;
  auto ctx = h.create();
  auto s =
      std::get<std::shared_ptr<harness::stream>>(h.start(ctx->id, "import time\ntime.sleep(30)"));
  h.run_until([] { return false; }, 100ms);
  s->channel->cancel();
  auto next = std::get<std::shared_ptr<harness::stream>>(h.start(ctx->id, "=8"));
  REQUIRE(h.run_until([&] { return next->ended; }, 5s));
  CHECK(next->events[0]["text"] == "8");
}

TEST_CASE("a run left by its client that ignores the interrupt costs the state, and says so next",
          "[interpreter][service]") {
  harness h([](sbx::config& c) { c.kill_grace_ms = 200; });
  auto ctx = h.create();
  h.run(ctx->id, "kept = 7");
  auto s = std::get<std::shared_ptr<harness::stream>>(
      h.start(ctx->id,
              "import signal, time\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\ntime.sleep(30)"));
  h.run_until([] { return false; }, 100ms);  // the run gets under way
  s->channel->cancel();
  auto told = std::get<std::shared_ptr<harness::stream>>(h.start(ctx->id, "=kept"));
  REQUIRE(h.run_until([&] { return told->ended; }, 10s));
  CHECK(last(told->events)["ename"] == "InterpreterDied");
  CHECK(last(told->events)["evalue"].get<std::string>().find("client went away") !=
        std::string::npos);
  CHECK(last(h.run(ctx->id, "=kept"))["ename"] == "NameError");
}

TEST_CASE("when a language's executors are all taken, the least recently used idle one gives way",
          "[interpreter][service]") {
  harness h([](sbx::config& c) { c.python_pool = {0, 2}; });
  auto a = h.create();
  auto b = h.create();
  REQUIRE(a.ok());
  REQUIRE(b.ok());
  h.run(a->id, "kept = 1");
  h.run(b->id, "kept = 2");  // a is now the least recently used
  auto c = h.create();       // a third context: a's executor gives way
  REQUIRE(c.ok());
  CHECK(h.run(b->id, "=kept")[0]["text"] == "2");
  auto told = h.run(a->id, "=kept");
  CHECK(last(told)["ename"] == "InterpreterDied");
  CHECK(last(told)["evalue"].get<std::string>().find("to make room for other contexts") !=
        std::string::npos);
  // Then a fresh interpreter, for which c (unused since its creation) gives way.
  CHECK(last(h.run(a->id, "=kept"))["ename"] == "NameError");
  CHECK(last(h.run(b->id, "=kept"))["type"] != "error");
}
