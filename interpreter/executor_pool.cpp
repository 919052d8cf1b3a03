#include "interpreter/executor_pool.hpp"

#include <algorithm>
#include <string>

#include "core/log.hpp"

namespace sbx::interp {

executor_pool::executor_pool(language lang, pool_limits limits, launch_fn launch)
    : lang_(lang), limits_(limits), launch_(std::move(launch)) {
  limits_.max_size = std::max(limits_.max_size, 1);
  limits_.min_size = std::clamp(limits_.min_size, 0, limits_.max_size);
}

executor_pool::~executor_pool() {
  for (const auto& e : members_) e->kill();
}

std::size_t executor_pool::unpromised_starting() const {
  return starting_ > waiters_.size() ? starting_ - waiters_.size() : 0;
}

void executor_pool::fill() {
  auto min = static_cast<std::size_t>(limits_.min_size);
  auto max = static_cast<std::size_t>(limits_.max_size);
  while (!closed_ && idle_.size() + unpromised_starting() < min && members_.size() < max) {
    auto before = members_.size();
    launch_one();
    if (members_.size() == before) return;  // could not start one; do not spin
  }
}

void executor_pool::launch_one() {
  auto holder = std::make_shared<std::weak_ptr<executor>>();
  auto started = launch_([this, holder](status st) {
    if (auto e = holder->lock()) on_started(e, std::move(st));
  });
  if (!started) {
    log::warn("cannot start executor",
              {{"language", language_name(lang_)}, {"error", started.error().message}});
    if (!waiters_.empty() && waiters_.size() > starting_) {
      auto waiter = std::move(waiters_.back());
      waiters_.pop_back();
      waiter(started.error());
    }
    return;
  }
  *holder = *started;
  members_.insert(*started);
  ++starting_;
}

void executor_pool::on_started(const std::shared_ptr<executor>& e, status st) {
  if (starting_ > 0) --starting_;
  if (!st) {
    members_.erase(e);
    // The waiters beyond what is still starting lose their executor.
    if (waiters_.size() > starting_) {
      auto waiter = std::move(waiters_.front());
      waiters_.pop_front();
      waiter(st.error());
    }
    return;
  }
  if (closed_) return;
  if (!waiters_.empty()) {
    auto waiter = std::move(waiters_.front());
    waiters_.pop_front();
    waiter(e);
    return;
  }
  idle_.push_back(e);
}

void executor_pool::acquire(acquire_fn done) {
  if (closed_) {
    done(make_error(codes::interpreter_not_ready, "Code interpreter is not ready: shutting down"));
    return;
  }
  while (!idle_.empty()) {
    auto e = std::move(idle_.front());
    idle_.pop_front();
    if (!e->alive()) continue;
    done(e);
    fill();
    return;
  }
  if (unpromised_starting() > 0) {  // the pool is warming: wait for the next one
    waiters_.push_back(std::move(done));
    return;
  }
  if (members_.size() >= static_cast<std::size_t>(limits_.max_size)) {
    auto name = std::string(language_name(lang_));
    auto upper = name;
    std::transform(upper.begin(), upper.end(), upper.begin(), ::toupper);
    done(make_error(codes::interpreter_not_ready,
                    "Code interpreter is not ready: all " + std::to_string(limits_.max_size) + " " +
                        name + " executors are in use; delete a code context or raise " + upper +
                        "_POOL_MAX_SIZE"));
    return;
  }
  waiters_.push_back(std::move(done));
  launch_one();
}

bool executor_pool::exhausted() const {
  return idle_.empty() && unpromised_starting() == 0 &&
         members_.size() >= static_cast<std::size_t>(limits_.max_size);
}

void executor_pool::forget(const std::shared_ptr<executor>& e, bool refill) {
  if (members_.erase(e) == 0) return;  // never counted, or already forgotten
  idle_.erase(std::remove(idle_.begin(), idle_.end(), e), idle_.end());
  if (refill) fill();
}

void executor_pool::close() {
  closed_ = true;
  for (const auto& e : members_) e->kill();
  members_.clear();
  idle_.clear();
  auto waiters = std::move(waiters_);
  waiters_.clear();
  for (auto& w : waiters)
    w(make_error(codes::interpreter_not_ready, "Code interpreter is not ready: shutting down"));
}

}  // namespace sbx::interp
