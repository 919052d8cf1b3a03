#pragma once
// Idle keep-alive connections to proxy targets, by port. A connection is
// parked as a bare descriptor, so the next exchange adopts it on its own
// executor. Bounded per port and in all. A parked connection the target has
// closed is skipped when taken; one it closes just after is noticed by the
// exchange, which then connects afresh.
#include <cstddef>
#include <mutex>
#include <optional>
#include <unordered_map>
#include <vector>

#include "server/socket_budget.hpp"

namespace sbx::ports {

class upstream_pool {
 public:
  struct idle {
    int fd;
    bool ipv6;
    http::socket_budget::lease socket;  // its place in the socket budget
  };

  upstream_pool() = default;
  ~upstream_pool();
  upstream_pool(const upstream_pool&) = delete;
  upstream_pool& operator=(const upstream_pool&) = delete;

  // The most recently parked connection to `port` that is still open and
  // silent, if any.
  std::optional<idle> take(int port);
  // Keeps `fd` for the next request to `port` (closes it when full).
  void park(int port, idle connection);
  // Closes the connections to `port`, or to every port.
  void drop(int port);
  void clear();

  static constexpr std::size_t k_per_port = 16;
  static constexpr std::size_t k_total = 128;

 private:
  std::mutex mutex_;
  std::unordered_map<int, std::vector<idle>> idle_;
  std::size_t total_ = 0;
};

}  // namespace sbx::ports
