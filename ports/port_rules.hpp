#pragma once
// Which ports may be exposed, and how a bad one is reported (API.md §8.1, §12).
// The rule is the SDK's own (1024-65535, not 3000 or 8787) plus the daemon's
// port, so the server never records a port the SDK then refuses (Q30).
#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "core/result.hpp"

namespace sbx::ports {

inline constexpr int k_min_port = 1024;
inline constexpr int k_max_port = 65535;

// Every problem with `port`, joined with ", "; empty when it may be exposed.
// `control_port` is the port this daemon listens on.
std::string port_problems(std::int64_t port, int control_port);

// 400 INVALID_PORT_NUMBER: "Invalid port number <shown>: <reason>", context
// {port, reason} (`port` omitted when it is null: the request had none).
api_error invalid_port_error(std::string_view shown, const nlohmann::json& port,
                             std::string_view reason);

// A {port} path segment: decimal digits only, within 1-65535.
result<int> parse_port_segment(std::string_view segment);

}  // namespace sbx::ports
