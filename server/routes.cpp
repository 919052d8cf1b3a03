// The route table: registration order is match order (API.md §3), which is
// what lets /api/process/list and /api/process/kill-all win over /api/process/{id}.
#include "handlers/execute_handler.hpp"
#include "handlers/file_handler.hpp"
#include "handlers/git_handler.hpp"
#include "handlers/interpreter_handler.hpp"
#include "handlers/misc_handler.hpp"
#include "handlers/port_handler.hpp"
#include "handlers/process_handler.hpp"
#include "handlers/session_handler.hpp"
#include "ports/proxy.hpp"
#include "server/router.hpp"

namespace sbx::http {
namespace {

using namespace sbx::handlers;
using m = method;

constexpr route k_routes[] = {
    {m::post, "/api/session/create", session_create},
    {m::get, "/api/session/list", session_list},
    {m::post, "/api/execute", execute},
    {m::post, "/api/execute/stream", execute_stream},
    {m::post, "/api/read", file_read},
    {m::post, "/api/read/stream", file_read_stream},
    {m::post, "/api/write", file_write},
    {m::post, "/api/delete", file_delete},
    {m::post, "/api/rename", file_rename},
    {m::post, "/api/move", file_move},
    {m::post, "/api/mkdir", file_mkdir},
    {m::post, "/api/list-files", file_list},
    {m::post, "/api/exists", file_exists},
    {m::post, "/api/expose-port", port_expose},
    {m::get, "/api/exposed-ports", port_list},
    {m::del, "/api/exposed-ports/{port}", port_unexpose},
    {m::post, "/api/process/start", process_start},
    {m::get, "/api/process/list", process_list},
    {m::del, "/api/process/kill-all", process_kill_all},
    {m::get, "/api/process/{id}", process_get},
    {m::del, "/api/process/{id}", process_kill},
    {m::get, "/api/process/{id}/logs", process_logs},
    {m::get, "/api/process/{id}/stream", process_stream},
    {m::post, "/api/git/checkout", git_checkout},
    {m::get, "/api/interpreter/health", interpreter_health},
    {m::post, "/api/contexts", context_create},
    {m::get, "/api/contexts", context_list},
    {m::del, "/api/contexts/{id}", context_delete},
    {m::post, "/api/execute/code", execute_code},
    // The reference routes only the bare /proxy/{port} (Q3); every sub-path is proxied here.
    {m::get, "/proxy/{port}", nullptr, ports::proxy_takeover, true},
    {m::post, "/proxy/{port}", nullptr, ports::proxy_takeover, true},
    {m::put, "/proxy/{port}", nullptr, ports::proxy_takeover, true},
    {m::del, "/proxy/{port}", nullptr, ports::proxy_takeover, true},
    {m::get, "/", root, nullptr, false, /*logged=*/false},
    {m::get, "/api/ping", ping},
    {m::get, "/api/commands", commands},
    {m::get, "/api/version", version},
    // sandboxd extensions beyond the 0.4.14 contract.
    {m::post, "/api/session/delete", session_delete, nullptr, false, true, false},
    {m::head, "/proxy/{port}", nullptr, ports::proxy_takeover, true, true, false},
    {m::patch, "/proxy/{port}", nullptr, ports::proxy_takeover, true, true, false},
    {m::options, "/proxy/{port}", nullptr, ports::proxy_takeover, true, true, false},
};

}  // namespace

std::span<const route> route_table() {
  return k_routes;
}

}  // namespace sbx::http
