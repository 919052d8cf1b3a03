#pragma once
// All configuration in one place: command line and environment (API.md §13).
// A malformed value is a start-up error, never a silent default.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace sbx {

struct pool_limits {
  int min_size;
  int max_size;
};

struct config {
  std::string bind = "0.0.0.0";
  int port = 3000;

  std::string log_level = "info";   // debug | info | warn | error
  std::string log_format = "json";  // json | pretty
  std::string sandbox_version = "unknown";

  std::uint64_t command_timeout_ms = 0;  // 0 = unlimited
  std::uint64_t max_output_bytes = 10 * 1024 * 1024;
  std::uint64_t max_body_bytes = 128 * 1024 * 1024;
  std::uint64_t max_header_bytes = 64 * 1024;
  std::uint64_t idle_timeout_ms = 255'000;              // keep-alive connections without a request
  std::uint64_t shutdown_grace_ms = 5'000;              // in-flight requests on SIGTERM
  std::uint64_t kill_grace_ms = 5'000;                  // TERM -> KILL escalation
  std::uint64_t process_log_bytes = 16 * 1024 * 1024;   // per process, per stream
  std::uint64_t finished_log_bytes = 64 * 1024 * 1024;  // all finished processes together
  std::uint64_t git_timeout_ms = 600'000;
  int io_threads = 1;
  int blocking_threads = 4;

  std::string workspace = "/workspace";
  std::string executors_dir;  // empty = found next to the binary
  std::uint64_t interpreter_spawn_timeout_ms = 60'000;
  std::uint64_t interpreter_exec_timeout_ms = 0;
  pool_limits python_pool{3, 15};
  pool_limits javascript_pool{3, 10};
  pool_limits typescript_pool{3, 10};
};

struct config_outcome {
  enum class kind { run, help, version, error } what = kind::run;
  config cfg;
  std::string message;  // help text, version text or the error
};

// Parses argv and an environment (name -> value). Pure: no globals read.
config_outcome parse_config(const std::vector<std::string>& args,
                            const std::map<std::string, std::string>& env);

std::map<std::string, std::string> current_environment();

// NAME=value entries, as a child's environment.
std::vector<std::string> to_env_list(const std::map<std::string, std::string>& env);

}  // namespace sbx
