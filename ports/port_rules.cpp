#include "ports/port_rules.hpp"

#include <vector>

namespace sbx::ports {
namespace {

constexpr int k_sandbox_api_port = 3000;
constexpr int k_wrangler_dev_port = 8787;

std::string join(const std::vector<std::string>& parts) {
  std::string out;
  for (const auto& p : parts) {
    if (!out.empty()) out += ", ";
    out += p;
  }
  return out;
}

}  // namespace

std::string port_problems(std::int64_t port, int control_port) {
  std::vector<std::string> problems;
  if (port < k_min_port || port > k_max_port)
    problems.push_back("Port must be between " + std::to_string(k_min_port) + " and " +
                       std::to_string(k_max_port));
  if (port == k_sandbox_api_port || port == control_port)
    problems.push_back("Port " + std::to_string(port) +
                       " is reserved for the sandbox API control plane");
  else if (port == k_wrangler_dev_port)
    problems.push_back("Port " + std::to_string(port) +
                       " is reserved for the local development server");
  return join(problems);
}

api_error invalid_port_error(std::string_view shown, const nlohmann::json& port,
                             std::string_view reason) {
  nlohmann::json context = nlohmann::json::object();
  if (!port.is_null()) context["port"] = port;
  context["reason"] = reason;
  return make_error(codes::invalid_port_number,
                    "Invalid port number " + std::string(shown) + ": " + std::string(reason),
                    std::move(context));
}

result<int> parse_port_segment(std::string_view segment) {
  bool digits = !segment.empty();
  for (char c : segment) digits = digits && c >= '0' && c <= '9';
  if (!digits) return invalid_port_error(segment, std::string(segment), "Port must be an integer");
  int port = segment.size() <= 5 ? std::stoi(std::string(segment)) : 0;
  if (port < 1 || port > k_max_port)
    return invalid_port_error(segment, std::string(segment), "Port must be between 1 and 65535");
  return port;
}

}  // namespace sbx::ports
