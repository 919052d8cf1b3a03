#pragma once
// One declarative route table (API.md §3) and the matcher that walks it.
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "server/http_types.hpp"

namespace sbx {
class app;
}

namespace sbx::http {

struct connection_handoff;  // server/handoff.hpp

using handler_fn = void (*)(app&, request, responder);
// Routes that need the raw connection (the proxy): called after the request
// header is read, with the body still unread on the socket.
using takeover_fn = void (*)(app&, request, std::unique_ptr<connection_handoff>);

struct route {
  method verb;
  std::string_view pattern;  // segments; "{name}" matches any one segment
  handler_fn handler = nullptr;
  takeover_fn takeover = nullptr;
  bool any_subpath = false;  // also matches every path below the pattern
  bool logged = true;
  bool contract = true;  // one of the 37 routes of API.md §3 (false: sandboxd extension)
};

std::span<const route> route_table();

struct route_match {
  const route* found = nullptr;
  std::vector<std::string> params;
  bool path_known = false;  // some route has this path under another method
};

route_match match_route(std::span<const route> table, method verb, std::string_view path);

}  // namespace sbx::http
