#include "ports/upstream_pool.hpp"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

namespace sbx::ports {

upstream_pool::~upstream_pool() {
  clear();
}

namespace {

// An idle connection must have nothing to read: EOF means the target closed
// it, and bytes it sent unasked (a timeout notice) would be taken for the
// answer to the next request.
bool still_idle(int fd) {
  char byte;
  ssize_t n = ::recv(fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

}  // namespace

std::optional<upstream_pool::idle> upstream_pool::take(int port) {
  for (;;) {
    idle c;
    {
      std::lock_guard lock(mutex_);
      auto it = idle_.find(port);
      if (it == idle_.end() || it->second.empty()) return std::nullopt;
      c = std::move(it->second.back());
      it->second.pop_back();
      --total_;
    }
    if (still_idle(c.fd)) return c;
    ::close(c.fd);
  }
}

void upstream_pool::park(int port, idle connection) {
  {
    std::lock_guard lock(mutex_);
    auto& list = idle_[port];
    if (list.size() < k_per_port && total_ < k_total) {
      list.push_back(std::move(connection));
      ++total_;
      return;
    }
  }
  ::close(connection.fd);
}

void upstream_pool::drop(int port) {
  std::vector<idle> closing;
  {
    std::lock_guard lock(mutex_);
    auto it = idle_.find(port);
    if (it == idle_.end()) return;
    closing = std::move(it->second);
    total_ -= closing.size();
    idle_.erase(it);
  }
  for (auto& c : closing) ::close(c.fd);
}

void upstream_pool::clear() {
  std::unordered_map<int, std::vector<idle>> closing;
  {
    std::lock_guard lock(mutex_);
    closing.swap(idle_);
    total_ = 0;
  }
  for (auto& [port, list] : closing)
    for (auto& c : list) ::close(c.fd);
}

}  // namespace sbx::ports
