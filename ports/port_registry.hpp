#pragma once
#include "core/runtime.hpp"

namespace sbx {

class port_registry {
 public:
  explicit port_registry(runtime& rt);
  ~port_registry();
  port_registry(const port_registry&) = delete;
  port_registry& operator=(const port_registry&) = delete;

  // Ends everything this service started (daemon shutdown).
  void shutdown();

 private:
  runtime& rt_;
};

}  // namespace sbx
