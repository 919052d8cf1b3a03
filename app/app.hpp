#pragma once
// The daemon: owns the I/O context, the blocking pool, the reaper, every
// service and the listener, and the one shutdown path.
#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <unordered_set>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/thread_pool.hpp>

#include "core/config.hpp"
#include "core/runtime.hpp"
#include "server/http_types.hpp"
#include "server/socket_budget.hpp"

namespace sbx {

namespace process {
class reaper;
}
namespace http {
class listener;
class connection;
}  // namespace http
class session_manager;
class process_registry;
class file_service;
class port_registry;
class git_service;
class interpreter_service;

class app {
 public:
  explicit app(config cfg);
  ~app();
  app(const app&) = delete;
  app& operator=(const app&) = delete;

  // Listens, serves until SIGTERM/SIGINT, shuts down. Returns the exit code.
  int run();

  const config& cfg() const { return cfg_; }
  // The services' context, run by the first I/O thread.
  boost::asio::io_context& io() { return io_; }
  // The context for a new connection: the one serving the fewest, the
  // services' own on a tie. Each thread runs a context of its own, so a
  // connection's handlers stay on one thread; a lone client (the latency
  // case) shares the services' thread, where handing a request to a service
  // and its answer back wakes no other thread, while many clients spread
  // over all threads.
  boost::asio::io_context& connection_io();
  runtime& rt() { return *rt_; }
  int bound_port() const { return bound_port_; }

  session_manager& sessions() { return *sessions_; }
  process_registry& processes() { return *processes_; }
  file_service& files() { return *files_; }
  port_registry& ports() { return *ports_; }
  git_service& git() { return *git_; }
  interpreter_service& interpreter() { return *interpreter_; }

  // Runs fn on the blocking pool (file I/O, directory walks) and answers with
  // its response. Exceptions become a 500 INTERNAL_ERROR.
  void run_blocking(http::responder done, std::function<http::response()> fn);

  // In-flight request accounting for graceful shutdown.
  void request_started() { ++inflight_; }
  void request_finished();
  bool shutting_down() const { return shutting_down_; }

  // Live connections, so shutdown can close idle ones; `ctx` is the
  // context the connection runs on.
  void add_connection(http::connection* c, const boost::asio::execution_context& ctx);
  void remove_connection(http::connection* c, const boost::asio::execution_context& ctx);
  // Client and proxy-target sockets against their share of the descriptor
  // limit; at the limit the listener pauses until one closes.
  http::socket_budget& sockets() { return sockets_; }

 private:
  void begin_shutdown(int sig);
  void finish_shutdown();

  config cfg_;
  // Before the I/O contexts: leases held by their pending handlers end first.
  http::socket_budget sockets_;
  boost::asio::io_context io_;
  boost::asio::thread_pool blocking_;
  std::unique_ptr<process::reaper> reaper_;
  std::unique_ptr<runtime> rt_;
  std::unique_ptr<session_manager> sessions_;
  std::unique_ptr<process_registry> processes_;
  std::unique_ptr<file_service> files_;
  std::unique_ptr<port_registry> ports_;
  std::unique_ptr<git_service> git_;
  std::unique_ptr<interpreter_service> interpreter_;
  std::shared_ptr<http::listener> listener_;
  int bound_port_ = 0;

  std::atomic<int> inflight_{0};
  std::atomic<bool> shutting_down_{false};
  std::atomic<bool> finished_{false};
  std::mutex connections_mutex_;
  std::unordered_set<http::connection*> connections_;

  // Contexts of the I/O threads after the first, kept running until shutdown.
  std::vector<std::unique_ptr<boost::asio::io_context>> more_io_;
  std::vector<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>>
      more_io_guards_;
  // Live connections per context ([0] io_, [i] more_io_[i - 1]), under
  // connections_mutex_.
  std::vector<int> live_per_io_;
  std::size_t io_index(const boost::asio::execution_context& ctx) const;
};

}  // namespace sbx
