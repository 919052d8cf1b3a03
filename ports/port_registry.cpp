#include "ports/port_registry.hpp"

#include <algorithm>

#include "ports/port_rules.hpp"

namespace sbx {

port_registry::port_registry(runtime&) {}
port_registry::~port_registry() = default;

result<exposed_port> port_registry::expose(std::int64_t port, std::optional<std::string> name,
                                           int control_port) {
  if (auto problems = ports::port_problems(port, control_port); !problems.empty())
    return ports::invalid_port_error(std::to_string(port), port, problems);

  std::lock_guard lock(mutex_);
  auto existing = std::find_if(ports_.begin(), ports_.end(),
                               [&](const exposed_port& p) { return p.port == port; });
  if (existing != ports_.end()) {
    nlohmann::json context{{"port", port}};
    std::string label = "Port " + std::to_string(port);
    if (existing->name) {
      context["portName"] = *existing->name;
      label += " (" + *existing->name + ")";
    }
    return make_error(codes::port_already_exposed, label + " is already exposed",
                      std::move(context));
  }
  exposed_port entry{static_cast<int>(port), std::move(name), std::chrono::system_clock::now()};
  ports_.push_back(entry);
  return entry;
}

status port_registry::unexpose(int port) {
  std::lock_guard lock(mutex_);
  auto existing = std::find_if(ports_.begin(), ports_.end(),
                               [&](const exposed_port& p) { return p.port == port; });
  if (existing == ports_.end())
    return make_error(codes::port_not_exposed, "Port " + std::to_string(port) + " is not exposed",
                      {{"port", port}});
  ports_.erase(existing);
  upstreams_.drop(port);
  return ok_status();
}

std::vector<exposed_port> port_registry::list() const {
  std::lock_guard lock(mutex_);
  return ports_;
}

bool port_registry::is_exposed(int port) const {
  std::lock_guard lock(mutex_);
  return std::any_of(ports_.begin(), ports_.end(),
                     [&](const exposed_port& p) { return p.port == port; });
}

void port_registry::shutdown() {
  upstreams_.clear();
}

}  // namespace sbx
