#pragma once
#include <memory>
#include <string>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include "core/result.hpp"

namespace sbx {
class app;
}

namespace sbx::http {

// Owns the acceptor; every accepted socket becomes an http_session on its own strand.
class listener : public std::enable_shared_from_this<listener> {
 public:
  explicit listener(app& a);
  // Binds and listens; returns the bound port.
  result<int> open(const std::string& address, int port);
  void start();
  void stop();
  // Accepting again after a pause at the connection limit (any thread).
  void resume();

 private:
  void do_accept();

  app& app_;
  boost::asio::ip::tcp::acceptor acceptor_;
  // After a failed accept (out of descriptors, most often) the next one
  // waits a little: retried at once it would fail again, in a busy loop.
  boost::asio::steady_timer accept_retry_;
  bool accept_failing_ = false;
  bool paused_ = false;  // at the connection limit; resume() ends it
  std::chrono::steady_clock::time_point last_limit_log_{};
};

}  // namespace sbx::http
