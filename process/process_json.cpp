#include "process/process_json.hpp"

#include "core/clock.hpp"

namespace sbx::process {

nlohmann::json record_json(const process_info& p) {
  nlohmann::json j = {{"id", p.id}};
  if (p.pid) j["pid"] = *p.pid;
  j["command"] = p.command;
  j["status"] = to_string(p.status);
  j["startTime"] = iso_timestamp(p.start_time);
  if (p.end_time) j["endTime"] = iso_timestamp(*p.end_time);
  if (p.exit_code) j["exitCode"] = *p.exit_code;
  return j;
}

}  // namespace sbx::process
