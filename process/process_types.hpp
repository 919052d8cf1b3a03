#pragma once
// What the process service speaks: record snapshots, start requests, and the
// interface through which output readers (log streams) follow a process.
#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace sbx::process {

// API.md §6.1. `starting` covers the moment between reserving an id and the
// spawn (the session context is being fetched).
enum class process_status { starting, running, completed, failed, killed, error };

std::string_view to_string(process_status s);
std::optional<process_status> parse_status(std::string_view s);

struct process_info {
  std::string id;
  std::optional<pid_t> pid;
  std::string command;
  std::string session_id;
  process_status status = process_status::starting;
  std::chrono::system_clock::time_point start_time;
  std::optional<std::chrono::system_clock::time_point> end_time;
  std::optional<int> exit_code;
  std::string error;  // why an `error` record could not start
};

struct process_logs {
  std::string id;
  std::string out;
  std::string err;
  bool out_truncated = false;  // earlier bytes were dropped (bounded log)
  bool err_truncated = false;
};

enum class output_stream { out = 0, err = 1 };

class managed_process;

// A follower of one process's output (an SSE stream). The process calls wake()
// whenever there is new output or it has finished; the reader then pulls with
// managed_process::next().
class output_reader {
 public:
  virtual ~output_reader() = default;
  // Called once, before the first wake().
  virtual void attached(std::shared_ptr<managed_process> p) = 0;
  // Any thread, never under the process's lock.
  virtual void wake() = 0;
  // Primary readers only: true while the reader cannot take more. The process
  // then stops reading its pipes (the program blocks on write) until the
  // reader calls managed_process::resume_reading().
  virtual bool backlogged() const = 0;
};

struct start_request {
  std::string command;
  std::string session_id = "default";
  std::optional<std::string> process_id;   // caller-chosen id
  std::optional<std::string> cwd;          // default: the session's current directory
  std::map<std::string, std::string> env;  // on top of the session's exported environment
  // The exec stream that owns this process's output: it sees everything and
  // its backpressure pauses the pipes (nullptr: none).
  std::shared_ptr<output_reader> primary;
};

}  // namespace sbx::process
