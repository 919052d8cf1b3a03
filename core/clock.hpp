#pragma once
#include <chrono>
#include <cstdint>
#include <string>

namespace sbx {

// JavaScript Date.prototype.toISOString(): 2025-01-31T12:34:56.789Z
std::string iso_timestamp(std::chrono::system_clock::time_point t);
inline std::string iso_now() {
  return iso_timestamp(std::chrono::system_clock::now());
}

std::int64_t epoch_millis();

// Lowercase hex of `bytes` random bytes.
std::string random_hex(std::size_t bytes);

}  // namespace sbx
