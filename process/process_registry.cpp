#include "process/process_registry.hpp"

namespace sbx {

process_registry::process_registry(runtime& rt, session_manager& sessions) : rt_(rt), sessions_(sessions) {}
process_registry::~process_registry() = default;

void process_registry::shutdown() {}

}  // namespace sbx
