#pragma once
// Reads one output pipe of a foreground command into memory, up to a shared
// byte budget. The daemon reads only when the pipe is readable (a wait, not
// a read in flight), so when the command has finished, finish() reads what is
// left synchronously and hands the output over at once. Background jobs that
// still hold the pipe are then read and discarded until EOF, so they never
// block and never leak into the next command's output.
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include <boost/asio/posix/stream_descriptor.hpp>

namespace sbx::session {

struct output_budget {
  std::uint64_t used = 0;
  std::uint64_t limit = 0;  // 0: unlimited
  bool exceeded = false;
  std::function<void()> on_exceeded;
};

class output_capture : public std::enable_shared_from_this<output_capture> {
 public:
  // `pipe` is the non-blocking read end.
  explicit output_capture(boost::asio::posix::stream_descriptor pipe);

  // Starts waiting for output. Until a budget is set, output is discarded:
  // a pipe is readied before its command starts, so the wait is armed
  // before the command can write.
  void start();
  void set_budget(std::shared_ptr<output_budget> budget);
  // Returns every byte written so far; call on the strand once the command
  // has finished. Later output is discarded.
  std::string finish();
  // Stops reading and closes the pipe (a capture that was never used).
  void close();

 private:
  void wait_readable();
  void on_readable(boost::system::error_code ec);
  // Reads until the pipe is empty or max_bytes were read; false once it
  // reached EOF (pipe closed).
  bool drain_readable(std::size_t max_bytes);
  void append(const char* data, std::size_t n);

  boost::asio::posix::stream_descriptor pipe_;
  std::shared_ptr<output_budget> budget_;
  std::string data_;
  bool discarding_ = false;
};

}  // namespace sbx::session
