#pragma once
// The wire form of a process record (API.md §6.1): id, pid, command, status,
// startTime, and endTime/exitCode once known. Absent values are left out.
#include <nlohmann/json.hpp>

#include "process/process_types.hpp"

namespace sbx::process {

nlohmann::json record_json(const process_info& p);

}  // namespace sbx::process
