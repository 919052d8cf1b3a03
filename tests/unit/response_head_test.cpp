#include <catch2/catch.hpp>

#include "core/clock.hpp"
#include "server/response_head.hpp"

using sbx::http::response;
using sbx::http::response_head;

TEST_CASE("a JSON response head carries its type, CORS headers and length") {
  auto res = response::text("{\"a\":1}", "application/json", 201);
  res.headers.emplace_back("Retry-After", "1");
  auto head = response_head(res, true);
  CHECK(head.rfind("HTTP/1.1 201 Created\r\n", 0) == 0);
  CHECK(head.find("\r\nContent-Type: application/json\r\n") != std::string::npos);
  CHECK(head.find("\r\nAccess-Control-Allow-Origin: *\r\n") != std::string::npos);
  CHECK(head.find("\r\nRetry-After: 1\r\n") != std::string::npos);
  CHECK(head.find("\r\nContent-Length: 7\r\n") != std::string::npos);
  CHECK(head.find("Connection:") == std::string::npos);
  CHECK(head.substr(head.size() - 4) == "\r\n\r\n");
}

TEST_CASE("a closing response says so, a 204 has no length") {
  auto head = response_head(response::empty(204), false);
  CHECK(head.rfind("HTTP/1.1 204 No Content\r\n", 0) == 0);
  CHECK(head.find("Content-Length") == std::string::npos);
  CHECK(head.find("\r\nContent-Type:") == std::string::npos);
  CHECK(head.find("\r\nConnection: close\r\n") != std::string::npos);
}

TEST_CASE("timestamps are JavaScript's toISOString, milliseconds included") {
  using namespace std::chrono;
  auto t = system_clock::time_point(milliseconds(1738326896789));  // 2025-01-31T12:34:56.789Z
  CHECK(sbx::iso_timestamp(t) == "2025-01-31T12:34:56.789Z");
  CHECK(sbx::iso_timestamp(t + milliseconds(211)) == "2025-01-31T12:34:57.000Z");
  CHECK(sbx::iso_timestamp(t + milliseconds(5)) == "2025-01-31T12:34:56.794Z");
  CHECK(sbx::random_hex(12).size() == 24);
  CHECK(sbx::random_hex(12).find_first_not_of("0123456789abcdef") == std::string::npos);
}

TEST_CASE("a streamed response says chunked instead of a length") {
  auto res = response::sse(nullptr);
  auto head = response_head(res, true, sbx::http::body_framing::chunked);
  CHECK(head.rfind("HTTP/1.1 200 OK\r\n", 0) == 0);
  CHECK(head.find("\r\nContent-Type: text/event-stream\r\n") != std::string::npos);
  CHECK(head.find("\r\nTransfer-Encoding: chunked\r\n") != std::string::npos);
  CHECK(head.find("Content-Length") == std::string::npos);
  CHECK(head.find("\r\nAccess-Control-Allow-Origin: *\r\n") != std::string::npos);
}
