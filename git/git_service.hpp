#pragma once
#include "core/runtime.hpp"
#include "session/session_manager.hpp"

namespace sbx {

class git_service {
 public:
  explicit git_service(runtime& rt, session_manager& sessions);
  ~git_service();
  git_service(const git_service&) = delete;
  git_service& operator=(const git_service&) = delete;

  // Ends everything this service started (daemon shutdown).
  void shutdown();

 private:
  runtime& rt_;
  session_manager& sessions_;
};

}  // namespace sbx
