#include "ports/port_registry.hpp"

namespace sbx {

port_registry::port_registry(runtime& rt) : rt_(rt) {}
port_registry::~port_registry() = default;

void port_registry::shutdown() {}

}  // namespace sbx
