#include "interpreter/interpreter_service.hpp"

#include <signal.h>

#include <algorithm>

#include <boost/asio/post.hpp>

#include "core/clock.hpp"
#include "core/log.hpp"
#include "interpreter/executor_command.hpp"
#include "process/reaper.hpp"

namespace sbx {
namespace {

using interp::language;
using interp::language_name;

std::string new_uuid_v4() {
  std::string hex = random_hex(16);
  hex[12] = '4';
  hex[16] = "89ab"[std::stoi(hex.substr(16, 1), nullptr, 16) & 3];
  return hex.substr(0, 8) + "-" + hex.substr(8, 4) + "-" + hex.substr(12, 4) + "-" +
         hex.substr(16, 4) + "-" + hex.substr(20, 12);
}

std::string exit_text(const process::exit_status& st) {
  if (st.signal) return "was killed by signal " + std::to_string(st.signal);
  return "exited with code " + std::to_string(st.code);
}

pool_limits limits_for(const config& cfg, language l) {
  switch (l) {
    case language::python:
      return cfg.python_pool;
    case language::javascript:
      return cfg.javascript_pool;
    case language::typescript:
      return cfg.typescript_pool;
  }
  return cfg.python_pool;
}

code_context_info info_of(const interp::code_context& ctx) {
  return {ctx.id, ctx.lang, ctx.cwd};
}

}  // namespace

interpreter_service::interpreter_service(runtime& rt)
    : rt_(rt),
      strand_(boost::asio::make_strand(rt.io)),
      executor_files_(interp::locate_executor_files(rt.cfg)),
      executor_env_(interp::executor_environment()) {
  for (auto lang : interp::all_languages)
    pools_[interp::index_of(lang)] = std::make_unique<interp::executor_pool>(
        lang, limits_for(rt.cfg, lang),
        [this, lang](interp::executor::ready_fn ready) { return launch(lang, std::move(ready)); });
  // Runs when the I/O context starts, which is after the listener is open.
  boost::asio::post(strand_, [this] { start(); });
}

// The I/O context no longer runs here; the pools kill what is left as they go.
interpreter_service::~interpreter_service() {
  kill_all();
}

void interpreter_service::start() {
  if (started_ || stopping_) return;
  started_ = true;
  log::info("interpreter pools warming",
            {{"executors", executor_files_.dir},
             {"python_print_module", executor_files_.python_print_module}});
  for (auto& p : pools_) p->fill();
}

result<interpreter_service::executor_ptr> interpreter_service::launch(
    language lang, interp::executor::ready_fn on_ready) {
  if (stopping_)
    return make_error(codes::interpreter_not_ready, "Code interpreter is shutting down");
  interp::launch_spec spec;
  spec.lang = lang;
  spec.argv = interp::executor_argv(lang, executor_files_);
  spec.env = executor_env_;
  spec.cwd = rt_.cfg.workspace;
  spec.start_timeout = std::chrono::milliseconds(rt_.cfg.interpreter_spawn_timeout_ms);
  auto e =
      interp::executor::launch(rt_.reaper, rt_.blocking, strand_, spec, std::move(on_ready),
                               [this](const executor_ptr& self, process::exit_status st,
                                      bool run_told) { on_executor_exit(self, st, run_told); });
  if (e) {
    std::lock_guard lock(pids_mutex_);
    pids_.insert((*e)->pid());
  }
  return e;
}

void interpreter_service::acquire_for(const context_ptr& ctx, language lang, acquired_fn done) {
  if (pool(lang).exhausted()) make_room(lang, *ctx);
  pool(lang).acquire([this, ctx, lang, done = std::move(done)](result<executor_ptr> got) {
    if (!got) {
      done(got.error());
      return;
    }
    auto e = *got;
    owners_[e.get()] = ctx;
    e->configure(ctx->cwd, ctx->env, [this, e, done](std::optional<std::string> error) {
      if (!error) {
        done(e);
        return;
      }
      retire(e);  // half-configured: its environment is not the context's
      bool cwd_problem = error->rfind("chdir", 0) == 0;
      done(field_error(cwd_problem ? "cwd" : "env_vars", *error));
    });
  });
}

void interpreter_service::make_room(language lang, const interp::code_context& asking) {
  // Every executor of the language belongs to a context: the one whose last
  // run is oldest, and which is not running anything in this language, gives
  // its executor up. Its state is lost, and its next run says so.
  interp::code_context* oldest = nullptr;
  auto i = interp::index_of(lang);
  for (const auto& [id, c] : contexts_) {
    const auto& slot = c->slots[i];
    if (c.get() == &asking || !slot.exec || (c->active && c->active->lang() == lang)) continue;
    if (!oldest || slot.last_used < oldest->slots[i].last_used) oldest = c.get();
  }
  if (!oldest) return;
  auto& slot = oldest->slots[i];
  auto name = std::string(language_name(lang));
  log::info("code context's executor stopped to make room",
            {{"contextId", oldest->id}, {"language", name}, {"pid", slot.exec->pid()}});
  retire(std::exchange(slot.exec, nullptr));
  auto upper = name;
  std::transform(upper.begin(), upper.end(), upper.begin(), ::toupper);
  slot.loss_report = "The " + name + " interpreter of this context was stopped to make room for " +
                     "other contexts (at most " + std::to_string(pool(lang).max_size()) + " " +
                     name + " interpreters run at once; " + upper +
                     "_POOL_MAX_SIZE); its state is lost and the next run starts a fresh "
                     "interpreter";
}

// --- contexts ---

void interpreter_service::create_context(code_context_options opts,
                                         std::function<void(result<code_context_info>)> done) {
  boost::asio::post(strand_, [this, opts = std::move(opts), done = std::move(done)]() mutable {
    auto ctx = std::make_shared<interp::code_context>();
    ctx->id = new_uuid_v4();
    ctx->lang = opts.lang;
    ctx->cwd = opts.cwd.empty() ? rt_.cfg.workspace : opts.cwd;
    ctx->env = std::move(opts.env);
    acquire_for(ctx, ctx->lang, [this, ctx, done](result<executor_ptr> got) {
      if (!got) {
        auto e = got.error();
        if (e.code == codes::internal_error)
          e.message = "Failed to create code context: " + e.message;
        done(e);
        return;
      }
      ctx->slots[interp::index_of(ctx->lang)].exec = *got;
      ctx->slots[interp::index_of(ctx->lang)].last_used = std::chrono::steady_clock::now();
      contexts_.emplace(ctx->id, ctx);
      {
        std::lock_guard lock(ids_mutex_);
        ids_.insert(ctx->id);
      }
      creation_order_.push_back(ctx);
      log::info(
          "code context created",
          {{"contextId", ctx->id}, {"language", language_name(ctx->lang)}, {"pid", (*got)->pid()}});
      done(info_of(*ctx));
    });
  });
}

void interpreter_service::list_contexts(std::function<void(std::vector<code_context_info>)> done) {
  boost::asio::post(strand_, [this, done = std::move(done)] {
    std::vector<code_context_info> out;
    out.reserve(creation_order_.size());
    for (const auto& ctx : creation_order_) out.push_back(info_of(*ctx));
    done(std::move(out));
  });
}

void interpreter_service::delete_context(std::string id, std::function<void(status)> done) {
  boost::asio::post(strand_, [this, id = std::move(id), done = std::move(done)] {
    auto ctx = find(id);
    if (!ctx) {
      done(make_error(codes::context_not_found, "Code context '" + id + "' not found",
                      {{"contextId", id}}));
      return;
    }
    contexts_.erase(id);
    {
      std::lock_guard lock(ids_mutex_);
      ids_.erase(id);
    }
    creation_order_.erase(std::remove(creation_order_.begin(), creation_order_.end(), ctx),
                          creation_order_.end());
    end_runs(*ctx, "Context " + id + " was deleted");
    for (auto& slot : ctx->slots)
      if (slot.exec) retire(std::exchange(slot.exec, nullptr));
    log::info("code context deleted", {{"contextId", id}});
    done(ok_status());
  });
}

void interpreter_service::end_runs(interp::code_context& ctx, const std::string& reason) {
  ctx.deleted = true;
  auto queued = std::exchange(ctx.queue, {});
  for (auto& run : queued) run->abort(reason);
  if (auto active = std::exchange(ctx.active, nullptr)) active->abort(reason);
}

interpreter_service::context_ptr interpreter_service::find(const std::string& id) const {
  auto it = contexts_.find(id);
  return it == contexts_.end() ? nullptr : it->second;
}

// --- runs ---

void interpreter_service::execute(
    code_run_request req, std::function<void(result<std::shared_ptr<http::sse_channel>>)> done) {
  bool known;
  {
    std::lock_guard lock(ids_mutex_);
    known = ids_.count(req.context_id) != 0;
  }
  if (!known) {
    auto message = "Context " + req.context_id + " not found";
    auto e = make_error(codes::context_not_found, message, {{"contextId", req.context_id}});
    e.extra = {{"error", message}};  // the reference's body shape (API.md §2.4)
    return done(e);
  }
  // The stream's head goes out now, while the run makes its way to the strand.
  auto channel = std::make_shared<http::sse_channel>();
  done(channel);
  boost::asio::post(strand_, [this, req = std::move(req), channel = std::move(channel)]() mutable {
    auto ctx = find(req.context_id);
    auto timeout_ms = req.timeout_ms ? req.timeout_ms : rt_.cfg.interpreter_exec_timeout_ms;
    auto run = std::make_shared<interp::code_run>(
        strand_, channel, std::move(req.code),
        req.lang.value_or(ctx ? ctx->lang : interp::language::python),
        std::chrono::milliseconds(timeout_ms), std::chrono::milliseconds(rt_.cfg.kill_grace_ms));
    if (!ctx) {  // deleted since the check above: as for a run queued on it
      run->abort("Context " + req.context_id + " was deleted");
      return;
    }
    // A client that goes away interrupts its run: nobody reads the output,
    // and the runs queued behind it should not wait for it.
    channel->on_cancel([this, weak = std::weak_ptr<interp::code_run>(run)] {
      boost::asio::post(strand_, [weak] {
        if (auto r = weak.lock()) r->cancel();
      });
    });
    ctx->queue.push_back(run);
    pump(ctx);
  });
}

void interpreter_service::pump(const context_ptr& ctx) {
  while (!ctx->deleted && !ctx->active && !ctx->queue.empty()) {
    auto run = std::move(ctx->queue.front());
    ctx->queue.pop_front();
    if (run->abandoned()) continue;
    ctx->active = run;
    auto& slot = ctx->slots[interp::index_of(run->lang())];
    if (slot.loss_report) {
      run->fail("InterpreterDied", *std::exchange(slot.loss_report, std::nullopt));
      ctx->active = nullptr;
      continue;
    }
    if (slot.exec && slot.exec->alive()) {
      begin_run(ctx, run, slot.exec);
      return;
    }
    acquire_for(ctx, run->lang(), [this, ctx, run](result<executor_ptr> got) {
      if (ctx->deleted) {
        if (got) retire(*got);
        return;  // the run was told when the context was deleted
      }
      if (!got) {
        run->fail("InternalError", got.error().message);
        ctx->active = nullptr;
        pump(ctx);
        return;
      }
      ctx->slots[interp::index_of(run->lang())].exec = *got;
      begin_run(ctx, run, *got);
    });
    return;
  }
}

void interpreter_service::begin_run(const context_ptr& ctx,
                                    const std::shared_ptr<interp::code_run>& run,
                                    const executor_ptr& e) {
  if (run->abandoned()) {  // the client left while an executor was found for it
    ctx->active = nullptr;
    return pump(ctx);
  }
  ctx->slots[interp::index_of(run->lang())].last_used = std::chrono::steady_clock::now();
  auto id = ctx->id + ":" + std::to_string(++ctx->runs_started);
  run->start(e, id, [this, ctx, e, weak = std::weak_ptr(run)](interp::code_run::outcome o) {
    // Not inline: the run is finishing inside the executor's event handling.
    auto r = weak.lock();
    bool unheard = r && r->abandoned();  // its last event reached nobody
    boost::asio::post(strand_, [this, ctx, e, o, unheard] { run_finished(ctx, e, o, unheard); });
  });
}

void interpreter_service::run_finished(const context_ptr& ctx, const executor_ptr& e,
                                       interp::code_run::outcome o, bool unheard) {
  if (ctx->deleted) {
    retire(e);
    return;
  }
  ctx->active = nullptr;
  if (o == interp::code_run::outcome::lost) {
    auto& slot = ctx->slots[interp::index_of(e->lang())];
    if (slot.exec == e) slot.exec = nullptr;
    retire(e);
    // Nobody read why (the client had gone): the next run is told instead.
    if (unheard)
      slot.loss_report = "The " + std::string(language_name(e->lang())) +
                         " interpreter of this context was restarted after a run whose client "
                         "went away did not stop when interrupted; its state is lost and the "
                         "next run starts a fresh interpreter";
  }
  pump(ctx);
}

// --- executor life ---

void interpreter_service::on_executor_exit(const executor_ptr& e, process::exit_status st,
                                           bool run_told) {
  {
    std::lock_guard lock(pids_mutex_);
    pids_.erase(e->pid());
  }
  log::warn("executor exited", {{"language", language_name(e->lang())},
                                {"pid", e->pid()},
                                {"code", st.code},
                                {"signal", st.signal}});
  pool(e->lang()).forget(e, true);
  auto owner = owners_.find(e.get());
  if (owner == owners_.end()) return;
  auto ctx = owner->second.lock();
  owners_.erase(owner);
  if (!ctx || run_told) return;
  auto& slot = ctx->slots[interp::index_of(e->lang())];
  if (slot.exec != e) return;
  slot.exec = nullptr;
  slot.loss_report = "The " + std::string(language_name(e->lang())) +
                     " interpreter of this context " + exit_text(st) +
                     " while idle; its state is lost and the next run starts a fresh interpreter";
}

void interpreter_service::retire(const executor_ptr& e) {
  {
    std::lock_guard lock(pids_mutex_);
    pids_.erase(e->pid());
  }
  owners_.erase(e.get());
  e->kill();
  pool(e->lang()).forget(e, true);
}

void interpreter_service::pool_stats(
    std::function<void(std::vector<interpreter_pool_stats>)> done) {
  boost::asio::post(strand_, [this, done = std::move(done)] {
    std::vector<interpreter_pool_stats> out;
    for (auto lang : interp::all_languages)
      out.push_back({lang, pool(lang).live(), pool(lang).idle()});
    done(std::move(out));
  });
}

void interpreter_service::shutdown() {
  kill_all();
  boost::asio::post(strand_, [this] {
    // Runs still queued or under way end now, with the contexts they belong to.
    for (auto& [id, ctx] : contexts_) end_runs(*ctx, "The daemon is shutting down");
    for (auto& p : pools_) p->close();
  });
}

void interpreter_service::kill_all() {
  if (stopping_.exchange(true)) return;
  std::unordered_set<pid_t> pids;
  {
    std::lock_guard lock(pids_mutex_);
    pids.swap(pids_);
  }
  // The I/O context stops right after this: end the trees now, synchronously.
  for (pid_t pid : pids) process::signal_tree(pid, SIGKILL);
}

}  // namespace sbx
