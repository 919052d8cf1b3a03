#pragma once
// Reads one output pipe of a foreground command into memory, up to a shared
// byte budget. When the command has finished, finish() collects every byte
// already written (including any a completed-but-queued read holds) and hands
// it over; background jobs that still hold the pipe are then read and
// discarded until EOF, so they never block and never leak into the next
// command's output.
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include <boost/asio/readable_pipe.hpp>
#include <boost/asio/strand.hpp>

namespace sbx::session {

struct output_budget {
  std::uint64_t used = 0;
  std::uint64_t limit = 0;  // 0: unlimited
  bool exceeded = false;
  std::function<void()> on_exceeded;
};

class output_capture : public std::enable_shared_from_this<output_capture> {
 public:
  using executor = boost::asio::strand<boost::asio::io_context::executor_type>;

  // Takes ownership of read_fd (non-blocking).
  output_capture(executor ex, int read_fd, std::shared_ptr<output_budget> budget);

  void start();
  // Runs done(output) on the strand once every byte written so far is read.
  void finish(std::function<void(std::string)> done);

 private:
  void read_next();
  void on_read(boost::system::error_code ec, std::size_t n);
  void append(const char* data, std::size_t n);
  void drain_readable();
  void close_pipe();

  boost::asio::readable_pipe pipe_;
  std::shared_ptr<output_budget> budget_;
  std::string data_;
  bool discarding_ = false;
  std::function<void(std::string)> finish_;
  char buf_[64 * 1024];
};

}  // namespace sbx::session
