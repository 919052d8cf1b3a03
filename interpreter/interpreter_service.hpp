#pragma once
#include "core/runtime.hpp"

namespace sbx {

class interpreter_service {
 public:
  explicit interpreter_service(runtime& rt);
  ~interpreter_service();
  interpreter_service(const interpreter_service&) = delete;
  interpreter_service& operator=(const interpreter_service&) = delete;

  // Ends everything this service started (daemon shutdown).
  void shutdown();

 private:
  runtime& rt_;
};

}  // namespace sbx
