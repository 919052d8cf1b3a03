#pragma once
// Pre-started executors of one language (API.md §10.6, issue §4). Keeps
// `min` idle executors ready, never lets more than `max` live at once, and
// hands each executor out once: a context owns the executor it was given
// until the context or the executor ends. Runs on the interpreter strand.
#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <unordered_set>

#include "core/config.hpp"
#include "core/result.hpp"
#include "interpreter/executor.hpp"

namespace sbx::interp {

class executor_pool {
 public:
  // Starts one executor; the pool passes the callback to call once it is
  // ready or failed to start.
  using launch_fn = std::function<result<std::shared_ptr<executor>>(executor::ready_fn)>;
  using acquire_fn = std::function<void(result<std::shared_ptr<executor>>)>;

  executor_pool(language lang, pool_limits limits, launch_fn launch);
  ~executor_pool();
  executor_pool(const executor_pool&) = delete;
  executor_pool& operator=(const executor_pool&) = delete;

  // Starts executors until `min` are idle or starting (bounded by `max`).
  void fill();
  // An idle executor now, else the next one to become ready. Fails with
  // INTERPRETER_NOT_READY when `max` executors are already live.
  void acquire(acquire_fn done);
  // An executor left the pool's accounting (it exited, or its context ended
  // and it was killed); `refill` starts a replacement when below `min`.
  void forget(const std::shared_ptr<executor>& e, bool refill);
  // Kills every executor it counts and fails waiters (daemon shutdown).
  void close();

  // No idle executor, none starting, and no room to start one.
  bool exhausted() const;
  int max_size() const { return limits_.max_size; }
  std::size_t live() const { return members_.size(); }
  std::size_t idle() const { return idle_.size(); }

 private:
  void launch_one();
  void on_started(const std::shared_ptr<executor>& e, status st);
  std::size_t unpromised_starting() const;

  language lang_;
  pool_limits limits_;
  launch_fn launch_;
  bool closed_ = false;
  std::unordered_set<std::shared_ptr<executor>> members_;  // starting, idle or bound
  std::deque<std::shared_ptr<executor>> idle_;
  std::size_t starting_ = 0;
  std::deque<acquire_fn> waiters_;
};

}  // namespace sbx::interp
