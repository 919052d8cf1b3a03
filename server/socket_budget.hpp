#pragma once
// The sockets the daemon holds for clients and proxy targets, counted
// against a share of the descriptor limit: no flood of clients or proxied
// connections can take the descriptors that sessions, processes and files
// need.
#include <cstddef>
#include <functional>
#include <mutex>
#include <utility>

namespace sbx::http {

class socket_budget {
 public:
  // One socket's place in the budget, given back when the lease ends.
  class lease {
   public:
    lease() = default;
    lease(lease&& other) noexcept
        : owner_(std::exchange(other.owner_, nullptr)), upstream_(other.upstream_) {}
    lease& operator=(lease&& other) noexcept {
      if (this != &other) {
        release();
        owner_ = std::exchange(other.owner_, nullptr);
        upstream_ = other.upstream_;
      }
      return *this;
    }
    lease(const lease&) = delete;
    lease& operator=(const lease&) = delete;
    ~lease() { release(); }

    explicit operator bool() const { return owner_ != nullptr; }
    void release();

   private:
    friend class socket_budget;
    lease(socket_budget* owner, bool upstream) : owner_(owner), upstream_(upstream) {}
    socket_budget* owner_ = nullptr;
    bool upstream_ = false;
  };

  explicit socket_budget(std::size_t limit) : limit_(limit) {}
  socket_budget(const socket_budget&) = delete;
  socket_budget& operator=(const socket_budget&) = delete;

  // The descriptor limit less a reserve of a quarter of it (at least 32, at
  // most 1024) for everything else.
  static std::size_t limit_from_rlimit();

  // A client connection already accepted: always counted.
  lease take_client();
  // A new connection to a proxy target; an empty lease when the budget is
  // spent or targets hold a quarter of it already (a proxied client holds
  // two sockets, so proxying alone never takes more than half the budget).
  lease take_upstream();
  // Whether the listener may accept another client.
  bool has_room() const;
  // Called, on the releasing thread, when a release makes room again. Set
  // before the first lease is taken.
  void on_room(std::function<void()> fn) { on_room_ = std::move(fn); }

 private:
  void give_back(bool upstream);

  const std::size_t limit_;
  mutable std::mutex mutex_;
  std::size_t used_ = 0;
  std::size_t upstream_ = 0;
  std::function<void()> on_room_;
};

}  // namespace sbx::http
