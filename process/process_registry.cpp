#include "process/process_registry.hpp"

#include <signal.h>
#include <sys/stat.h>

#include <random>
#include <thread>

#include "core/clock.hpp"
#include "core/log.hpp"
#include "process/direct_command.hpp"
#include "process/environment.hpp"
#include "process/kill.hpp"

namespace sbx {

using process::managed_process;
using process::process_info;
using process::process_status;

namespace {

bool blank(const std::string& s) {
  return s.find_first_not_of(" \t\r\n\f\v") == std::string::npos;
}

// "NAME=value" list with `overrides` replacing or adding entries.
process::environment merge_env(process::environment env,
                               const std::map<std::string, std::string>& overrides) {
  for (const auto& [name, value] : overrides) process::set_env(env, name, value);
  return env;
}

bool is_directory(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

}  // namespace

process_registry::process_registry(runtime& rt, session_manager& sessions)
    : rt_(rt), sessions_(sessions) {}

process_registry::~process_registry() = default;

std::string process_registry::new_id() const {
  // proc_<epochMillis>_<6 base-36 chars>, unique among live records.
  thread_local std::mt19937_64 rng{std::random_device{}()};
  static constexpr char k_digits[] = "0123456789abcdefghijklmnopqrstuvwxyz";
  for (;;) {
    std::string id = "proc_" + std::to_string(epoch_millis()) + "_";
    for (int i = 0; i < 6; ++i) id.push_back(k_digits[rng() % 36]);
    if (!by_id_.count(id)) return id;
  }
}

void process_registry::start(process::start_request req, start_done done) {
  auto rec = reserve(req);
  if (!rec) return done(rec.error());
  auto sid = req.session_id;
  sessions_.context(sid, [this, rec = *rec, req = std::move(req),
                          done = std::move(done)](result<session_context> ctx) mutable {
    launch(rec, std::move(req), std::move(ctx), std::move(done));
  });
}

result<process_registry::entry> process_registry::reserve(const process::start_request& req) {
  if (blank(req.command))
    return make_error(codes::invalid_command, "Invalid command: empty command provided");
  std::lock_guard lock(mutex_);
  if (shutting_down_) return make_error(codes::stream_start_error, "The daemon is shutting down");
  std::string id;
  if (req.process_id && !req.process_id->empty()) {
    id = *req.process_id;
    if (auto it = by_id_.find(id); it != by_id_.end()) {
      // A finished record gives its id up; a live one keeps it.
      if (!(*it->second)->finished())
        return make_error(codes::resource_busy, "Process ID '" + id + "' already exists",
                          {{"processId", id}});
      order_.erase(it->second);
      by_id_.erase(it);
    }
  } else {
    id = new_id();
  }
  auto rec = std::make_shared<managed_process>(
      rt_, id, req.command, req.session_id,
      // Runs on an I/O thread, which only runs while this registry exists.
      [this](const std::shared_ptr<managed_process>& p) { on_finished(p); });
  order_.push_back(rec);
  by_id_[id] = std::prev(order_.end());
  return rec;
}

void process_registry::launch(const entry& rec, process::start_request req,
                              result<session_context> ctx, start_done done) {
  if (!ctx) {
    rec->finish_unstarted(process_status::error, std::nullopt, "", ctx.error().message);
    return done(ctx.error());
  }
  process::spawn_options opts;
  auto env = merge_env(std::move(ctx->env), req.env);
  opts.cwd = req.cwd && !req.cwd->empty() ? *req.cwd : ctx->cwd;
  if (auto direct = process::as_direct_command(req.command, env)) {
    opts.argv = std::move(direct->argv);
    opts.search_path = std::move(direct->search_path);
    opts.fallback_argv = {"bash", "--norc", "--noprofile", "-c", req.command};
    opts.env = process::direct_command_env(std::move(env), opts.cwd);
  } else {
    opts.argv = {"bash", "--norc", "--noprofile", "-c", req.command};
    opts.env = std::move(env);
  }
  opts.new_session = true;
  auto launched = rec->launch(opts, req.primary);
  if (launched) return done(rec->info());

  // The reaper's spawn changes into the directory first; when that is what
  // failed, report it the way a shell would (API.md §6.2 [REC], Q17).
  if (!opts.cwd.empty() && !is_directory(opts.cwd)) {
    rec->finish_unstarted(process_status::failed, 1,
                          "Failed to change directory to " + opts.cwd + "\n", "");
    return done(rec->info());
  }
  const auto& why = launched.error().message;
  log::warn("process start failed", {{"processId", rec->id()}, {"error", why}});
  rec->finish_unstarted(process_status::error, std::nullopt, "", why);
  done(make_error(codes::stream_start_error,
                  "Failed to start streaming command '" + req.command + "': " + why,
                  {{"command", req.command}, {"stderr", why}}));
}

void process_registry::on_finished(const entry& rec) {
  std::lock_guard lock(mutex_);
  finished_.push_back(rec);
  // Finished output only shrinks, so a running total (recounted by each walk)
  // keeps this O(1) until the budget is reached.
  finished_log_bytes_ += rec->held_log_bytes();
  if (finished_log_bytes_ > rt_.cfg.finished_log_bytes) release_old_logs();
  while (finished_.size() > k_finished_records) {
    auto old = finished_.front().lock();
    finished_.pop_front();
    if (!old) continue;
    auto it = by_id_.find(old->id());
    if (it == by_id_.end() || *it->second != old) continue;  // replaced meanwhile
    order_.erase(it->second);
    by_id_.erase(it);
  }
}

void process_registry::release_old_logs() {
  // Newest first: the latest records keep their output, older ones give it
  // up once together they would exceed the budget.
  std::uint64_t kept = 0;
  for (auto it = finished_.rbegin(); it != finished_.rend(); ++it) {
    auto rec = it->lock();
    if (!rec) continue;
    std::uint64_t held = rec->held_log_bytes();
    if (held == 0) continue;
    if (kept + held <= rt_.cfg.finished_log_bytes) {
      kept += held;
      continue;
    }
    if (rec->release_logs() == 0) kept += held;  // still being read
  }
  finished_log_bytes_ = kept;
}

std::vector<process_info> process_registry::list(std::optional<process_status> filter) const {
  std::lock_guard lock(mutex_);
  std::vector<process_info> out;
  out.reserve(order_.size());
  for (const auto& rec : order_) {
    auto info = rec->info();
    if (!filter || info.status == *filter) out.push_back(std::move(info));
  }
  return out;
}

result<std::shared_ptr<managed_process>> process_registry::find(const std::string& id) const {
  std::lock_guard lock(mutex_);
  auto it = by_id_.find(id);
  if (it == by_id_.end())
    return make_error(codes::process_not_found, "Process " + id + " not found",
                      {{"processId", id}});
  return *it->second;
}

result<process_info> process_registry::get(const std::string& id) const {
  auto rec = find(id);
  if (!rec) return rec.error();
  return (*rec)->info();
}

result<process::process_logs> process_registry::logs(const std::string& id) const {
  auto rec = find(id);
  if (!rec) return rec.error();
  return (*rec)->logs();
}

status process_registry::kill(const std::string& id, int sig) {
  auto rec = find(id);
  if (!rec) return rec.error();
  auto table = process::scan_processes();
  if ((*rec)->kill(sig, table) == managed_process::kill_outcome::signalled) return ok_status();
  auto info = (*rec)->info();
  return make_error(
      codes::command_not_found,
      "Command '" + id + "' not found or already completed in session '" + info.session_id + "'",
      {{"command", id}});
}

int process_registry::kill_all(int sig) {
  std::vector<entry> targets;
  {
    std::lock_guard lock(mutex_);
    // Finished ones too: what they left running in the background counts.
    targets.assign(order_.begin(), order_.end());
  }
  if (targets.empty()) return 0;
  auto table = process::scan_processes();  // one pass over /proc for all of them
  int killed = 0;
  for (const auto& rec : targets)
    if (rec->kill(sig, table) == managed_process::kill_outcome::signalled) ++killed;
  return killed;
}

void process_registry::shutdown() {
  std::vector<entry> all;
  {
    std::lock_guard lock(mutex_);
    shutting_down_ = true;
    all.assign(order_.begin(), order_.end());
  }
  auto table = process::scan_processes();
  std::vector<process::tree_member> members;
  for (const auto& rec : all) process::merge_members(members, rec->signal_remains(SIGTERM, table));
  if (members.empty()) return;
  log::info("stopping background processes", {{"processes", members.size()}});
  // The daemon is going away: polling here only delays its exit, and by at
  // most the kill grace.
  auto deadline =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(rt_.cfg.kill_grace_ms);
  while (process::any_alive(members) && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  if (!process::any_alive(members)) return;
  table = process::scan_processes();
  for (const auto& rec : all) process::merge_members(members, rec->signal_remains(SIGKILL, table));
  process::signal_tree(members, 0, SIGKILL);
}

}  // namespace sbx
