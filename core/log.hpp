#pragma once
// Structured logging over spdlog: one JSON object per line (default) or a
// readable line. Fields are data, never request bodies or env values.
#include <string_view>

#include <nlohmann/json.hpp>

namespace sbx::log {

enum class level { debug, info, warn, error };

// Installs the process-wide logger; safe to call once at start-up.
void init(std::string_view level_name, std::string_view format);

bool enabled(level l);
void write(level l, std::string_view msg, const nlohmann::json& fields = nlohmann::json::object());

inline void debug(std::string_view m, const nlohmann::json& f = nlohmann::json::object()) {
  if (enabled(level::debug)) write(level::debug, m, f);
}
inline void info(std::string_view m, const nlohmann::json& f = nlohmann::json::object()) {
  write(level::info, m, f);
}
inline void warn(std::string_view m, const nlohmann::json& f = nlohmann::json::object()) {
  write(level::warn, m, f);
}
inline void error(std::string_view m, const nlohmann::json& f = nlohmann::json::object()) {
  write(level::error, m, f);
}

// Writes out every queued line and stops the logging thread (before exit).
void flush();

}  // namespace sbx::log
