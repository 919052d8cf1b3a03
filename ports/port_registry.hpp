#pragma once
// Exposed-port bookkeeping (API.md §8): which ports are exposed, in insertion
// order. Exposure changes no networking; the SDK's preview URLs and the
// /proxy route consult it. Lost on restart, like the reference's map.
#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/result.hpp"
#include "core/runtime.hpp"
#include "ports/upstream_pool.hpp"

namespace sbx {

struct exposed_port {
  int port = 0;
  std::optional<std::string> name;
  std::chrono::system_clock::time_point exposed_at;
  std::string status = "active";  // the contract never reports another state
};

class port_registry {
 public:
  explicit port_registry(runtime& rt);
  ~port_registry();
  port_registry(const port_registry&) = delete;
  port_registry& operator=(const port_registry&) = delete;

  // Records `port` (validated by ports::port_problems against `control_port`,
  // the daemon's own port). Errors: INVALID_PORT_NUMBER, PORT_ALREADY_EXPOSED.
  result<exposed_port> expose(std::int64_t port, std::optional<std::string> name, int control_port);
  // Errors: PORT_NOT_EXPOSED.
  status unexpose(int port);
  std::vector<exposed_port> list() const;
  bool is_exposed(int port) const;

  // Idle connections the proxy keeps to exposed ports.
  ports::upstream_pool& upstreams() { return upstreams_; }

  // Ends everything this service started (daemon shutdown): the proxy's idle
  // connections; exposure itself is bookkeeping only.
  void shutdown();

 private:
  // Handlers on several I/O threads read and change the list.
  mutable std::mutex mutex_;
  std::vector<exposed_port> ports_;  // insertion order; a handful of entries
  ports::upstream_pool upstreams_;
};

}  // namespace sbx
