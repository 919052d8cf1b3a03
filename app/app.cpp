#include "app/app.hpp"

#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <limits>
#include <thread>
#include <vector>

#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>

#include "core/log.hpp"
#include "files/file_service.hpp"
#include "git/git_service.hpp"
#include "interpreter/interpreter_service.hpp"
#include "ports/port_registry.hpp"
#include "process/process_registry.hpp"
#include "process/reaper.hpp"
#include "server/connection.hpp"
#include "server/listener.hpp"
#include "session/session_manager.hpp"

namespace sbx {
app::app(config cfg)
    : cfg_(std::move(cfg)),
      sockets_(http::socket_budget::limit_from_rlimit()),
      blocking_(static_cast<std::size_t>(cfg_.blocking_threads)) {
  for (int i = 1; i < cfg_.io_threads; ++i) {
    more_io_.push_back(std::make_unique<boost::asio::io_context>(1));
    more_io_guards_.push_back(boost::asio::make_work_guard(*more_io_.back()));
  }
  live_per_io_.assign(more_io_.size() + 1, 0);
  reaper_ = std::make_unique<process::reaper>(io_);
  rt_ = std::make_unique<runtime>(runtime{cfg_, io_, blocking_, *reaper_});
  sessions_ = std::make_unique<session_manager>(*rt_);
  processes_ = std::make_unique<process_registry>(*rt_, *sessions_);
  files_ = std::make_unique<file_service>(*rt_, *sessions_);
  ports_ = std::make_unique<port_registry>(*rt_);
  git_ = std::make_unique<git_service>(*rt_, *sessions_);
  interpreter_ = std::make_unique<interpreter_service>(*rt_);
}

app::~app() {
  blocking_.join();
  listener_.reset();
  interpreter_.reset();
  git_.reset();
  ports_.reset();
  files_.reset();
  processes_.reset();
  sessions_.reset();
}

void app::run_blocking(http::responder done, std::function<http::response()> fn) {
  boost::asio::post(blocking_, [done = std::move(done), fn = std::move(fn)] {
    try {
      done(fn());
    } catch (const std::exception& e) {
      done(make_error(codes::internal_error, e.what()));
    }
  });
}

boost::asio::io_context& app::connection_io() {
  std::lock_guard lock(connections_mutex_);
  std::size_t best = 0;
  for (std::size_t i = 1; i < live_per_io_.size(); ++i)
    if (live_per_io_[i] < live_per_io_[best]) best = i;
  return best == 0 ? io_ : *more_io_[best - 1];
}

std::size_t app::io_index(const boost::asio::execution_context& ctx) const {
  for (std::size_t i = 0; i < more_io_.size(); ++i)
    if (&ctx == more_io_[i].get()) return i + 1;
  return 0;
}

void app::request_finished() {
  if (--inflight_ == 0 && shutting_down_) boost::asio::post(io_, [this] { finish_shutdown(); });
}

void app::add_connection(http::connection* c, const boost::asio::execution_context& ctx) {
  std::lock_guard lock(connections_mutex_);
  connections_.insert(c);
  ++live_per_io_[io_index(ctx)];
}

void app::remove_connection(http::connection* c, const boost::asio::execution_context& ctx) {
  std::lock_guard lock(connections_mutex_);
  connections_.erase(c);
  --live_per_io_[io_index(ctx)];
}

int app::run() {
  // Orphans of user commands are re-parented to us, so the reaper sees them.
  prctl(PR_SET_CHILD_SUBREAPER, 1);
  std::error_code ec;
  std::filesystem::create_directories(cfg_.workspace, ec);
  if (ec)
    log::warn("could not create workspace", {{"path", cfg_.workspace}, {"error", ec.message()}});

  listener_ = std::make_shared<http::listener>(*this);
  sockets_.on_room([listener = std::weak_ptr<http::listener>(listener_)] {
    if (auto l = listener.lock()) l->resume();
  });
  auto port = listener_->open(cfg_.bind, cfg_.port);
  if (!port) {
    log::error("cannot listen",
               {{"bind", cfg_.bind}, {"port", cfg_.port}, {"error", port.error().message}});
    return 1;
  }
  bound_port_ = *port;
  listener_->start();
  log::info("listening", {{"bind", cfg_.bind},
                          {"port", bound_port_},
                          {"version", cfg_.sandbox_version},
                          {"pid", ::getpid()}});

  boost::asio::signal_set signals(io_, SIGTERM, SIGINT);
  signals.async_wait([this](const boost::system::error_code& e, int sig) {
    if (!e) begin_shutdown(sig);
  });

  std::vector<std::thread> threads;
  for (auto& ctx : more_io_) threads.emplace_back([ctx = ctx.get()] { ctx->run(); });
  io_.run();
  for (auto& t : threads) t.join();
  log::info("stopped");
  log::flush();
  return 0;
}

void app::begin_shutdown(int sig) {
  if (shutting_down_.exchange(true)) return;
  log::info("shutting down", {{"signal", sig}, {"inflight", inflight_.load()}});
  listener_->stop();
  {
    std::lock_guard lock(connections_mutex_);
    for (auto* c : connections_) c->shutdown();
  }
  if (inflight_ == 0) {
    finish_shutdown();
    return;
  }
  auto timer = std::make_shared<boost::asio::steady_timer>(
      io_, std::chrono::milliseconds(cfg_.shutdown_grace_ms));
  timer->async_wait([this, timer](const boost::system::error_code&) { finish_shutdown(); });
}

void app::finish_shutdown() {
  if (finished_.exchange(true)) return;
  interpreter_->shutdown();
  git_->shutdown();
  processes_->shutdown();
  sessions_->shutdown();
  ports_->shutdown();
  files_->shutdown();
  // Whatever is left: descendants the services no longer track, such as a
  // session's background job whose shell exited (the daemon, as subreaper,
  // adopted it).
  for (pid_t p : process::descendants(::getpid())) ::kill(p, SIGKILL);
  more_io_guards_.clear();
  for (auto& ctx : more_io_) ctx->stop();
  io_.stop();
}

}  // namespace sbx
