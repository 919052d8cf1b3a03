#pragma once
#include "core/runtime.hpp"
#include "session/session_manager.hpp"

namespace sbx {

class file_service {
 public:
  explicit file_service(runtime& rt, session_manager& sessions);
  ~file_service();
  file_service(const file_service&) = delete;
  file_service& operator=(const file_service&) = delete;

  // Ends everything this service started (daemon shutdown).
  void shutdown();

 private:
  runtime& rt_;
  session_manager& sessions_;
};

}  // namespace sbx
