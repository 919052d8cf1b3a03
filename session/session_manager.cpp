#include "session/session_manager.hpp"

#include "core/clock.hpp"
#include "session/shell_session.hpp"

namespace sbx {

session_manager::session_manager(runtime& rt) : rt_(rt) {}

session_manager::~session_manager() = default;

result<std::string> session_manager::create(session_options opts) {
  if (opts.id.empty()) opts.id = "session_" + std::to_string(epoch_millis()) + "_" + random_hex(6);
  std::lock_guard lock(mutex_);
  if (sessions_.count(opts.id))
    return make_error(codes::internal_error, "Session '" + opts.id + "' already exists",
                      {{"sessionId", opts.id}, {"originalError", "Session already exists"}});
  auto s = std::make_shared<session::shell_session>(rt_, opts);
  if (auto started = s->start(); !started) return started.error();
  sessions_.emplace(opts.id, s);
  order_.push_back(opts.id);
  return opts.id;
}

std::vector<std::string> session_manager::list() const {
  std::lock_guard lock(mutex_);
  return order_;
}

status session_manager::remove(const std::string& id) {
  std::shared_ptr<session::shell_session> s;
  {
    std::lock_guard lock(mutex_);
    auto it = sessions_.find(id);
    if (it == sessions_.end()) {
      auto e = make_error(codes::internal_error, "Session '" + id + "' not found",
                          {{"sessionId", id}, {"originalError", "Session not found"}});
      e.status = 404;
      return e;
    }
    s = std::move(it->second);
    sessions_.erase(it);
    std::erase(order_, id);
  }
  s->terminate();
  return ok_status();
}

std::shared_ptr<session::shell_session> session_manager::find_or_create(const std::string& id) {
  std::lock_guard lock(mutex_);
  if (auto it = sessions_.find(id); it != sessions_.end()) return it->second;
  // Unknown ids are created on first use (API.md §4.1). If the shell cannot
  // start, the session still exists and retries on its next command.
  auto s = std::make_shared<session::shell_session>(rt_, session_options{id, {}, {}});
  (void)s->start();
  sessions_.emplace(id, s);
  order_.push_back(id);
  return s;
}

void session_manager::execute(const std::string& id, command_request req, command_done done) {
  find_or_create(id)->execute(std::move(req), std::move(done));
}

void session_manager::context(const std::string& id, context_done done) {
  find_or_create(id)->context(std::move(done));
}

std::string session_manager::cwd_of(const std::string& id) const {
  std::lock_guard lock(mutex_);
  if (auto it = sessions_.find(id); it != sessions_.end()) return it->second->cwd();
  return rt_.cfg.workspace;
}

void session_manager::shutdown() {
  std::lock_guard lock(mutex_);
  for (auto& [id, s] : sessions_) s->terminate();
}

}  // namespace sbx
