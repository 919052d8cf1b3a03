// Exposed-port registry, port rules and proxy header rewriting (no sockets).
#include <catch2/catch.hpp>

#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <thread>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/thread_pool.hpp>

#include "core/config.hpp"
#include "core/runtime.hpp"
#include "ports/port_registry.hpp"
#include "ports/port_rules.hpp"
#include "ports/proxy_headers.hpp"
#include "ports/upstream_pool.hpp"
#include "process/reaper.hpp"

namespace {

using namespace sbx;
using sbx::ports::body_framing;
using sbx::ports::header_list;

constexpr int k_control_port = 41234;

struct registry_fixture {
  config cfg;
  boost::asio::io_context io;
  boost::asio::thread_pool pool{1};
  process::reaper reaper{io};
  runtime rt{cfg, io, pool, reaper};
  port_registry registry{rt};
  ~registry_fixture() { pool.join(); }
};

std::vector<std::string> lines_of(const std::string& head) {
  std::vector<std::string> lines;
  std::size_t start = 0;
  for (auto end = head.find("\r\n"); end != std::string::npos; end = head.find("\r\n", start)) {
    lines.push_back(head.substr(start, end - start));
    start = end + 2;
  }
  return lines;
}

bool has_line(const std::vector<std::string>& lines, const std::string& line) {
  return std::find(lines.begin(), lines.end(), line) != lines.end();
}

std::size_t count_prefix(const std::vector<std::string>& lines, const std::string& prefix) {
  return static_cast<std::size_t>(std::count_if(
      lines.begin(), lines.end(), [&](const auto& l) { return l.rfind(prefix, 0) == 0; }));
}

}  // namespace

TEST_CASE("port rules follow the SDK's range and reserved ports", "[ports]") {
  CHECK(ports::port_problems(8080, k_control_port).empty());
  CHECK(ports::port_problems(1024, k_control_port).empty());
  CHECK(ports::port_problems(65535, k_control_port).empty());
  CHECK(ports::port_problems(80, k_control_port) == "Port must be between 1024 and 65535");
  CHECK(ports::port_problems(70000, k_control_port) == "Port must be between 1024 and 65535");
  CHECK(ports::port_problems(3000, k_control_port) ==
        "Port 3000 is reserved for the sandbox API control plane");
  CHECK(ports::port_problems(k_control_port, k_control_port) ==
        "Port 41234 is reserved for the sandbox API control plane");
  CHECK(ports::port_problems(8787, k_control_port) ==
        "Port 8787 is reserved for the local development server");
}

TEST_CASE("port path segments must be decimal ports", "[ports]") {
  CHECK(*ports::parse_port_segment("8080") == 8080);
  for (std::string bad : {"", "abc", "8080abc", "-1", "80.5", "0", "65536", "99999999999"}) {
    INFO(bad);
    auto r = ports::parse_port_segment(bad);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == "INVALID_PORT_NUMBER");
    CHECK(r.error().http_status() == 400);
    CHECK(r.error().message.rfind("Invalid port number " + bad + ": ", 0) == 0);
    CHECK(r.error().context.contains("reason"));
  }
}

TEST_CASE("expose records ports in insertion order with their names", "[ports]") {
  registry_fixture f;
  REQUIRE(f.registry.expose(9000, std::string("web"), k_control_port).ok());
  REQUIRE(f.registry.expose(8080, std::nullopt, k_control_port).ok());
  auto list = f.registry.list();
  REQUIRE(list.size() == 2);
  CHECK(list[0].port == 9000);
  CHECK(list[0].name == std::optional<std::string>("web"));
  CHECK(list[0].status == "active");
  CHECK(list[1].port == 8080);
  CHECK_FALSE(list[1].name.has_value());
  CHECK(f.registry.is_exposed(9000));
  CHECK_FALSE(f.registry.is_exposed(9001));
}

TEST_CASE("expose refuses invalid and duplicate ports", "[ports]") {
  registry_fixture f;
  auto invalid = f.registry.expose(80, std::nullopt, k_control_port);
  REQUIRE_FALSE(invalid.ok());
  CHECK(invalid.error().code == "INVALID_PORT_NUMBER");
  CHECK(invalid.error().message == "Invalid port number 80: Port must be between 1024 and 65535");
  CHECK(invalid.error().context ==
        nlohmann::json{{"port", 80}, {"reason", "Port must be between 1024 and 65535"}});
  CHECK(f.registry.list().empty());

  REQUIRE(f.registry.expose(9000, std::string("api"), k_control_port).ok());
  auto again = f.registry.expose(9000, std::nullopt, k_control_port);
  REQUIRE_FALSE(again.ok());
  CHECK(again.error().code == "PORT_ALREADY_EXPOSED");
  CHECK(again.error().http_status() == 409);
  CHECK(again.error().message == "Port 9000 (api) is already exposed");
  CHECK(again.error().context["portName"] == "api");
}

TEST_CASE("unexpose removes a port once", "[ports]") {
  registry_fixture f;
  REQUIRE(f.registry.expose(9000, std::nullopt, k_control_port).ok());
  CHECK(f.registry.unexpose(9000).ok());
  auto twice = f.registry.unexpose(9000);
  REQUIRE_FALSE(twice.ok());
  CHECK(twice.error().code == "PORT_NOT_EXPOSED");
  CHECK(twice.error().http_status() == 404);
  CHECK(twice.error().message == "Port 9000 is not exposed");
  CHECK(f.registry.list().empty());
}

TEST_CASE("the registry is safe to use from several threads", "[ports]") {
  registry_fixture f;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < 200; ++i) {
        int port = 10000 + t * 1000 + i;
        REQUIRE(f.registry.expose(port, std::nullopt, k_control_port).ok());
        REQUIRE(f.registry.is_exposed(port));
        if (i % 2 == 0) REQUIRE(f.registry.unexpose(port).ok());
      }
    });
  for (auto& th : threads) th.join();
  CHECK(f.registry.list().size() == 400);
}

TEST_CASE("hop-by-hop headers are not forwarded", "[ports][proxy]") {
  header_list in{{"Connection", "keep-alive, X-Secret"},
                 {"Keep-Alive", "timeout=5"},
                 {"Proxy-Authorization", "Basic x"},
                 {"TE", "trailers"},
                 {"Trailer", "X-Sum"},
                 {"Transfer-Encoding", "chunked"},
                 {"Upgrade", "h2c"},
                 {"x-secret", "1"},
                 {"Content-Length", "5"},
                 {"Set-Cookie", "a=1"},
                 {"Set-Cookie", "b=2"},
                 {"X-Kept", "yes"}};
  auto out = ports::end_to_end_headers(in);
  CHECK(out == header_list{{"Set-Cookie", "a=1"}, {"Set-Cookie", "b=2"}, {"X-Kept", "yes"}});
}

TEST_CASE("the target gets its own Host, X-Forwarded-* and framing", "[ports][proxy]") {
  header_list in{{"Host", "sandbox.example:3000"},
                 {"X-Forwarded-For", "10.0.0.1"},
                 {"Accept", "*/*"},
                 {"Connection", "keep-alive"}};
  auto head = ports::upstream_request_head(
      {"POST", "/a/b?q=1", in, "127.0.0.1", 8080, body_framing{body_framing::kind::length, 5}, ""});
  auto lines = lines_of(head);
  REQUIRE(lines.size() >= 2);
  CHECK(lines[0] == "POST /a/b?q=1 HTTP/1.1");
  CHECK(has_line(lines, "Host: localhost:8080"));
  CHECK(has_line(lines, "Accept: */*"));
  CHECK(has_line(lines, "X-Forwarded-For: 10.0.0.1, 127.0.0.1"));
  CHECK(has_line(lines, "X-Forwarded-Host: sandbox.example:3000"));
  CHECK(has_line(lines, "X-Forwarded-Proto: http"));
  CHECK(has_line(lines, "Content-Length: 5"));
  CHECK(count_prefix(lines, "Host:") == 1);
  // Keep-alive (HTTP/1.1's default): the connection may serve the next request.
  CHECK(count_prefix(lines, "Connection:") == 0);
  CHECK(head.size() >= 4);
  CHECK(head.substr(head.size() - 4) == "\r\n\r\n");
}

TEST_CASE("a WebSocket upgrade keeps Connection and Upgrade", "[ports][proxy]") {
  header_list in{{"Host", "h"},
                 {"Connection", "Upgrade"},
                 {"Upgrade", "websocket"},
                 {"Sec-WebSocket-Key", "k"}};
  auto lines =
      lines_of(ports::upstream_request_head({"GET", "/ws", in, "", 9000, {}, "websocket"}));
  CHECK(has_line(lines, "Connection: Upgrade"));
  CHECK(has_line(lines, "Upgrade: websocket"));
  CHECK(has_line(lines, "Sec-WebSocket-Key: k"));
  CHECK(count_prefix(lines, "Connection:") == 1);
  CHECK(count_prefix(lines, "X-Forwarded-For:") == 0);
}

TEST_CASE("responses keep repeated headers and gain CORS once", "[ports][proxy]") {
  header_list in{{"Set-Cookie", "a=1"},
                 {"Set-Cookie", "b=2"},
                 {"Access-Control-Allow-Origin", "*"},
                 {"Transfer-Encoding", "chunked"},
                 {"Connection", "close"}};
  auto lines = lines_of(ports::client_response_head(
      {200, "OK", in, body_framing{body_framing::kind::chunked, 0}, true, ""}));
  CHECK(lines[0] == "HTTP/1.1 200 OK");
  CHECK(count_prefix(lines, "Set-Cookie:") == 2);
  CHECK(count_prefix(lines, "Access-Control-Allow-Origin:") == 1);
  CHECK(has_line(lines, "Access-Control-Allow-Methods: GET, POST, PUT, DELETE, OPTIONS"));
  CHECK(has_line(lines, "Access-Control-Allow-Headers: Content-Type, Authorization, X-Session-Id"));
  CHECK(count_prefix(lines, "Transfer-Encoding:") == 1);
  CHECK(count_prefix(lines, "Connection:") == 0);

  auto closing = lines_of(ports::client_response_head({200, "OK", {}, {}, false, ""}));
  CHECK(has_line(closing, "Connection: close"));
}

TEST_CASE("chunk size lines are hexadecimal", "[ports][proxy]") {
  CHECK(ports::chunk_size_line(255) == "ff\r\n");
  CHECK(ports::chunk_size_line(65536) == "10000\r\n");
}

TEST_CASE("the upstream pool hands out only open, silent connections", "[ports]") {
  // Room for three target connections (a quarter of 12); outlives the pool.
  http::socket_budget budget(12);
  ports::upstream_pool pool;
  auto pair = [] {
    int fds[2];
    REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM, 0, fds) == 0);
    return std::pair{fds[0], fds[1]};
  };
  auto [silent, silent_peer] = pair();
  auto [closed, closed_peer] = pair();
  auto [chatty, chatty_peer] = pair();
  ::close(closed_peer);
  REQUIRE(::write(chatty_peer, "x", 1) == 1);

  pool.park(8080, {silent, false, budget.take_upstream()});
  pool.park(8080, {closed, false, budget.take_upstream()});
  pool.park(8080, {chatty, false, budget.take_upstream()});
  CHECK_FALSE(budget.take_upstream());
  // Most recent first; the chatty and the closed one are dropped on the way,
  // and give their places in the budget back.
  auto taken = pool.take(8080);
  REQUIRE(taken);
  CHECK(taken->fd == silent);
  CHECK(taken->socket);
  CHECK_FALSE(pool.take(8080));
  CHECK_FALSE(pool.take(9090));
  {
    auto a = budget.take_upstream(), b = budget.take_upstream();
    CHECK(a);
    CHECK(b);
    CHECK_FALSE(budget.take_upstream());
  }

  pool.park(8080, std::move(*taken));
  pool.drop(8080);
  CHECK_FALSE(pool.take(8080));  // drop closed it
  ::close(silent_peer);
  ::close(chatty_peer);
}
