#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "server/router.hpp"

using sbx::http::match_route;
using sbx::http::method;
using sbx::http::route_table;

namespace {

std::string name(method m) {
  return std::string(sbx::http::method_name(m));
}

}  // namespace

TEST_CASE("route table holds the 37 contract routes in contract order") {
  // API.md §3, in registration order.
  const std::vector<std::string> contract = {
      "POST /api/session/create",
      "GET /api/session/list",
      "POST /api/execute",
      "POST /api/execute/stream",
      "POST /api/read",
      "POST /api/read/stream",
      "POST /api/write",
      "POST /api/delete",
      "POST /api/rename",
      "POST /api/move",
      "POST /api/mkdir",
      "POST /api/list-files",
      "POST /api/exists",
      "POST /api/expose-port",
      "GET /api/exposed-ports",
      "DELETE /api/exposed-ports/{port}",
      "POST /api/process/start",
      "GET /api/process/list",
      "DELETE /api/process/kill-all",
      "GET /api/process/{id}",
      "DELETE /api/process/{id}",
      "GET /api/process/{id}/logs",
      "GET /api/process/{id}/stream",
      "POST /api/git/checkout",
      "GET /api/interpreter/health",
      "POST /api/contexts",
      "GET /api/contexts",
      "DELETE /api/contexts/{id}",
      "POST /api/execute/code",
      "GET /proxy/{port}",
      "POST /proxy/{port}",
      "PUT /proxy/{port}",
      "DELETE /proxy/{port}",
      "GET /",
      "GET /api/ping",
      "GET /api/commands",
      "GET /api/version",
  };
  const std::vector<std::string> extensions = {"POST /api/session/delete", "HEAD /proxy/{port}",
                                               "PATCH /proxy/{port}", "OPTIONS /proxy/{port}"};

  std::vector<std::string> in_contract, beyond;
  for (const auto& r : route_table()) {
    auto line = name(r.verb) + " " + std::string(r.pattern);
    (r.contract ? in_contract : beyond).push_back(line);
    REQUIRE((r.handler != nullptr) != (r.takeover != nullptr));
  }
  CHECK(in_contract == contract);
  CHECK(beyond == extensions);
}

TEST_CASE("fixed process paths win over {id}") {
  auto list = match_route(route_table(), method::get, "/api/process/list");
  REQUIRE(list.found);
  CHECK(list.found->pattern == "/api/process/list");
  auto kill_all = match_route(route_table(), method::del, "/api/process/kill-all");
  REQUIRE(kill_all.found);
  CHECK(kill_all.found->pattern == "/api/process/kill-all");
  auto get = match_route(route_table(), method::get, "/api/process/proc_1");
  REQUIRE(get.found);
  CHECK(get.found->pattern == "/api/process/{id}");
  CHECK(get.params == std::vector<std::string>{"proc_1"});
}

TEST_CASE("method is part of the match (Q36)") {
  auto m = match_route(route_table(), method::get, "/api/process/kill-all");
  // GET /api/process/kill-all is GET /api/process/{id} with id "kill-all", not a kill.
  REQUIRE(m.found);
  CHECK(m.found->pattern == "/api/process/{id}");
  auto none = match_route(route_table(), method::patch, "/api/execute");
  CHECK_FALSE(none.found);
  CHECK(none.path_known);
}

TEST_CASE("path params are percent-decoded and may be empty") {
  auto m = match_route(route_table(), method::get, "/api/process/my%20proc/logs");
  REQUIRE(m.found);
  CHECK(m.params == std::vector<std::string>{"my proc"});
  auto empty = match_route(route_table(), method::get, "/api/process//logs");
  REQUIRE(empty.found);
  CHECK(empty.params == std::vector<std::string>{""});
}

TEST_CASE("trailing slashes are significant, unknown paths match nothing") {
  CHECK_FALSE(match_route(route_table(), method::post, "/api/execute/").found);
  auto unknown = match_route(route_table(), method::get, "/api/nope");
  CHECK_FALSE(unknown.found);
  CHECK_FALSE(unknown.path_known);
}

TEST_CASE("proxy matches the bare port and every sub-path, for every method") {
  for (auto path : {"/proxy/8080", "/proxy/8080/", "/proxy/8080/a/b/c"}) {
    for (auto verb : {method::get, method::post, method::put, method::del, method::head,
                      method::patch, method::options}) {
      auto m = match_route(route_table(), verb, path);
      INFO(path << " " << name(verb));
      REQUIRE(m.found);
      CHECK(m.found->takeover != nullptr);
      CHECK(m.params.at(0) == "8080");
    }
  }
  CHECK_FALSE(match_route(route_table(), method::get, "/proxy").found);
}
