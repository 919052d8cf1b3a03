#pragma once
#include "core/runtime.hpp"
#include "session/session_manager.hpp"

namespace sbx {

class process_registry {
 public:
  explicit process_registry(runtime& rt, session_manager& sessions);
  ~process_registry();
  process_registry(const process_registry&) = delete;
  process_registry& operator=(const process_registry&) = delete;

  // Ends everything this service started (daemon shutdown).
  void shutdown();

 private:
  runtime& rt_;
  session_manager& sessions_;
};

}  // namespace sbx
