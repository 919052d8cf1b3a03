#pragma once
// The single renderer of the contract's ErrorResponse body (API.md §2.1) and
// the CORS headers every response carries (§1.6).
#include <array>
#include <string_view>
#include <utility>

#include <nlohmann/json.hpp>

#include "core/error.hpp"

namespace sbx::http {

nlohmann::json render_error(const api_error& e);

inline constexpr std::array<std::pair<std::string_view, std::string_view>, 3> k_cors_headers{{
    {"Access-Control-Allow-Origin", "*"},
    {"Access-Control-Allow-Methods", "GET, POST, PUT, DELETE, OPTIONS"},
    {"Access-Control-Allow-Headers", "Content-Type, Authorization, X-Session-Id"},
}};

}  // namespace sbx::http
