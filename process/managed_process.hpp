#pragma once
// One supervised background process: its pipes, its bounded stdout/stderr
// logs, its readers, its exit and its kill. Thread-safe: pipe reads, the
// reaper's exit callback and HTTP handlers all arrive on different I/O threads
// and meet under one mutex.
#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>

#include "core/result.hpp"
#include "core/runtime.hpp"
#include "process/kill.hpp"
#include "process/output_log.hpp"
#include "process/process_types.hpp"
#include "process/reaper.hpp"

namespace sbx::process {

// A reader's position in both logs.
struct log_cursor {
  std::array<std::uint64_t, 2> pos{0, 0};
};

struct output_piece {
  output_stream stream = output_stream::out;
  std::string data;
};

class managed_process : public std::enable_shared_from_this<managed_process> {
 public:
  using finished_fn = std::function<void(const std::shared_ptr<managed_process>&)>;

  managed_process(runtime& rt, std::string id, std::string command, std::string session_id,
                  finished_fn on_finished);
  ~managed_process();
  managed_process(const managed_process&) = delete;
  managed_process& operator=(const managed_process&) = delete;

  const std::string& id() const { return id_; }

  // Attaches `primary` (if any), spawns `opts` (its fds are replaced by the
  // output pipes) and starts reading. On failure nothing runs and the record
  // stays `starting`: the caller finishes it with finish_unstarted().
  status launch(spawn_options opts, std::shared_ptr<output_reader> primary);
  // Ends a record that never ran: `error` (exit_code empty) or a failure with
  // an exit code and a stderr text (e.g. a missing working directory).
  void finish_unstarted(process_status st, std::optional<int> exit_code, std::string stderr_text,
                        std::string error);

  process_info info() const;
  process_logs logs() const;
  bool finished() const;
  // Output bytes held for this record (both streams).
  std::size_t held_log_bytes() const;
  // A finished record with no reader left gives its logs up (they read as
  // truncated from then on). Returns the bytes freed.
  std::size_t release_logs();
  // Running (or starting) and not yet killed by us.
  bool running() const;

  enum class kill_outcome { signalled, not_running };
  // Sends sig to the whole tree and escalates to SIGKILL after the grace. The
  // record is `killed` from now on. A process already on its way out after a
  // kill can be signalled again; one that ended by itself cannot.
  kill_outcome kill(int sig, const std::vector<proc_entry>& table);
  // Daemon shutdown: signals whatever is left of the tree (also after the
  // leader exited, if members still hold its pipes) and returns those members.
  std::vector<tree_member> signal_remains(int sig, const std::vector<proc_entry>& table);

  // Readers.
  void attach(std::shared_ptr<output_reader> reader);
  void detach(const output_reader* reader);
  // The next output for a reader at `cursor` (stdout/stderr in the order it
  // arrived, neighbouring chunks of one stream merged up to max_bytes).
  // Nothing when the reader has caught up; `done` then tells whether the
  // process has finished, i.e. nothing more will come. The primary reader
  // says so, so that the process knows how far behind it is.
  std::optional<output_piece> next(log_cursor& cursor, std::size_t max_bytes, bool& done,
                                   bool primary = false);
  // The primary reader has room again.
  void resume_reading();

 private:
  struct pipe_state {
    std::unique_ptr<boost::asio::posix::stream_descriptor> fd;
    bool eof = true;
    bool paused = false;   // held back by the primary reader
    bool waiting = false;  // an async_wait is in flight
    bool grown = false;    // enlarged after the writer first filled it
    std::string carry;     // incomplete UTF-8 sequence from the last read
  };
  using readers = std::vector<std::shared_ptr<output_reader>>;

  void arm(int s);
  bool primary_behind() const;
  void on_readable(int s, const boost::system::error_code& ec);
  bool read_available(int s);
  void append(int s, std::string_view bytes);
  void on_exit(exit_status st);
  bool settle();  // finishes when exited and drained; true if it just finished
  void after_finish(readers to_wake);
  void escalate_later();
  void escalate();

  runtime& rt_;
  const std::string id_;
  const std::string command_;
  const std::string session_id_;
  const std::chrono::system_clock::time_point start_time_;
  finished_fn on_finished_;

  mutable std::mutex mutex_;
  process_status status_ = process_status::starting;
  std::optional<pid_t> pid_;
  bool exited_ = false;  // the leader has been reaped
  bool finished_ = false;
  exit_status exit_;
  bool killed_ = false;
  int pending_signal_ = 0;  // a kill that arrived before the spawn
  std::optional<int> exit_code_;
  std::optional<std::chrono::system_clock::time_point> end_time_;
  std::string error_;

  std::array<output_log, 2> logs_;
  std::array<pipe_state, 2> pipes_;
  std::uint64_t last_seq_ = 0;

  readers readers_;
  std::shared_ptr<output_reader> primary_;
  log_cursor primary_pos_;  // where the primary reader is

  std::vector<tree_member> kill_members_;  // everything ever signalled
  std::unique_ptr<boost::asio::steady_timer> escalation_;
};

}  // namespace sbx::process
