#include "server/socket_budget.hpp"

#include <sys/resource.h>

#include <algorithm>
#include <limits>

namespace sbx::http {

void socket_budget::lease::release() {
  if (auto* owner = std::exchange(owner_, nullptr)) owner->give_back(upstream_);
}

std::size_t socket_budget::limit_from_rlimit() {
  rlimit rl{};
  if (::getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY)
    return std::numeric_limits<std::size_t>::max();
  const auto soft = static_cast<std::size_t>(rl.rlim_cur);
  const std::size_t reserve = std::clamp<std::size_t>(soft / 4, 32, 1024);
  return soft > reserve + 16 ? soft - reserve : 16;
}

socket_budget::lease socket_budget::take_client() {
  std::lock_guard lock(mutex_);
  ++used_;
  return lease(this, false);
}

socket_budget::lease socket_budget::take_upstream() {
  std::lock_guard lock(mutex_);
  if (used_ >= limit_ || upstream_ >= std::max<std::size_t>(limit_ / 4, 1)) return {};
  ++used_;
  ++upstream_;
  return lease(this, true);
}

bool socket_budget::has_room() const {
  std::lock_guard lock(mutex_);
  return used_ < limit_;
}

void socket_budget::give_back(bool upstream) {
  bool made_room;
  {
    std::lock_guard lock(mutex_);
    made_room = used_ == limit_;
    --used_;
    if (upstream) --upstream_;
  }
  if (made_room && on_room_) on_room_();
}

}  // namespace sbx::http
