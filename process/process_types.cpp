#include "process/process_types.hpp"

#include <array>
#include <utility>

namespace sbx::process {
namespace {

constexpr std::array<std::pair<process_status, std::string_view>, 6> k_names{{
    {process_status::starting, "starting"},
    {process_status::running, "running"},
    {process_status::completed, "completed"},
    {process_status::failed, "failed"},
    {process_status::killed, "killed"},
    {process_status::error, "error"},
}};

}  // namespace

std::string_view to_string(process_status s) {
  for (const auto& [status, name] : k_names)
    if (status == s) return name;
  return "error";
}

std::optional<process_status> parse_status(std::string_view s) {
  for (const auto& [status, name] : k_names)
    if (name == s) return status;
  return std::nullopt;
}

}  // namespace sbx::process
