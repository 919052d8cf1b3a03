#pragma once
// The executor line protocol (commands on the executor's fd 3, events on its
// fd 4, one JSON object per line) and its mapping to the SSE events of
// POST /api/execute/code (API.md §10.5). Pure functions: no I/O.
#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace sbx::interp {

// --- commands (daemon -> executor); each ends with '\n' ---
std::string execute_command(std::string_view id, std::string_view code);
std::string configure_command(std::string_view cwd, const std::map<std::string, std::string>& env);
std::string shutdown_command();

// --- events (executor -> daemon) ---
// One event line as a JSON object with a string "type", or nothing when the
// line is not one (blank, malformed, not an object).
std::optional<nlohmann::json> parse_event_line(std::string_view line);

// --- SSE events ---
// The whole SSE frame of a stdout (or stderr) event, {"type":"stdout",
// "text":...}, as http::sse_frame would write it. Output can be large (a
// print loop), so the text is escaped straight into the frame, not through
// a JSON value.
std::string output_frame(bool is_stderr, std::string_view text);
// One executor output (a MIME bundle) as ONE result event carrying every
// format key the SDK's ResultImpl reads: text, html, png, jpeg, svg, latex,
// markdown, javascript, json. Nothing when the bundle has none of them.
std::optional<nlohmann::json> result_event(nlohmann::json data, nlohmann::json metadata);
nlohmann::json error_event(std::string ename, std::string evalue,
                           std::vector<std::string> traceback = {});
// The executor's error event, re-shaped (missing fields get defaults).
nlohmann::json error_event_from(const nlohmann::json& executor_error);
nlohmann::json complete_event(std::int64_t execution_count);

// Length of the longest prefix of `bytes` that does not end inside a UTF-8
// sequence, so a multi-byte character split across two pipe reads is sent
// whole with the second read instead of being replaced twice.
std::size_t complete_utf8_prefix(std::string_view bytes);

// Splits a byte stream into lines. A line longer than max_line bytes is
// dropped (counted in dropped()), so one runaway event cannot grow the buffer
// without bound. Each byte is scanned once, and a buffer grown by a large
// line is released once it is consumed.
class line_splitter {
 public:
  explicit line_splitter(std::size_t max_line) : max_line_(max_line) {}
  void append(std::string_view bytes);
  // The next complete line without its '\n', valid until the next append.
  std::optional<std::string_view> next();
  // The line next() returned last, as a string of its own: a line that fills
  // the buffer (a large one arriving over many reads) is moved, not copied.
  std::string take_returned();
  // Part of a line has arrived (or is being dropped) and its end has not.
  bool in_line() const { return discarding_ || start_ < buffer_.size(); }
  std::size_t dropped() const { return dropped_; }
  std::size_t capacity() const { return buffer_.capacity(); }

 private:
  std::size_t max_line_;
  std::string buffer_;
  std::size_t start_ = 0;       // first byte not yet returned
  std::size_t returned_ = 0;    // where the line next() returned last begins
  std::size_t scan_from_ = 0;   // no '\n' in [start_, scan_from_)
  std::size_t tail_start_ = 0;  // where the unfinished last line begins
  bool discarding_ = false;
  std::size_t dropped_ = 0;
};

}  // namespace sbx::interp
