#include "interpreter/code_run.hpp"

namespace sbx::interp {
namespace {

std::string lang_label(language l) {
  return std::string(language_name(l));
}

std::string exit_text(const process::exit_status& st) {
  if (st.signal) return "was killed by signal " + std::to_string(st.signal);
  return "exited with code " + std::to_string(st.code);
}

}  // namespace

code_run::code_run(strand& s, std::shared_ptr<http::sse_channel> channel, std::string code,
                   language lang, std::chrono::milliseconds timeout,
                   std::chrono::milliseconds interrupt_grace)
    : channel_(std::move(channel)),
      code_(std::move(code)),
      lang_(lang),
      timeout_(timeout),
      grace_(interrupt_grace),
      timer_(s) {}

void code_run::start(std::shared_ptr<executor> e, const std::string& id, finished_fn done) {
  executor_ = std::move(e);
  done_ = std::move(done);
  if (timeout_.count() > 0) {
    timer_.expires_after(timeout_);
    timer_.async_wait([weak = weak_from_this()](const boost::system::error_code& ec) {
      if (auto self = weak.lock(); self && !ec) self->interrupt(interrupt_reason::timeout);
    });
  }
  executor_->run(id, code_, shared_from_this());
  code_.clear();  // the executor has its own copy now
}

void code_run::fail(std::string ename, std::string evalue) {
  finish(error_event(std::move(ename), std::move(evalue)), outcome::kept);
}

void code_run::cancel() {
  if (executor_ && !finished_) interrupt(interrupt_reason::cancelled);
}

void code_run::abort(std::string evalue) {
  if (finished_) return;
  finish(error_event("ContextDeleted", std::move(evalue)), outcome::lost);
}

void code_run::interrupt(interrupt_reason why) {
  if (finished_ || interrupted_ != interrupt_reason::none) return;
  interrupted_ = why;
  executor_->interrupt();
  // If the interrupt is not honoured (a C extension spinning, a handler that
  // swallows KeyboardInterrupt), the executor is replaced after the grace.
  timer_.expires_after(grace_);
  timer_.async_wait([weak = weak_from_this()](const boost::system::error_code& ec) {
    if (auto self = weak.lock(); self && !ec) self->on_grace_expired();
  });
}

void code_run::on_grace_expired() {
  if (finished_) return;
  executor_->kill();
  std::string why = interrupted_ == interrupt_reason::timeout
                        ? "Execution timed out after " + std::to_string(timeout_.count()) + " ms"
                        : "Execution was interrupted";
  finish(error_event("TimeoutError",
                     why + "; the " + lang_label(lang_) + " interpreter did not stop within " +
                         std::to_string(grace_.count()) +
                         " ms of the interrupt and was restarted: the context's state is lost"),
         outcome::lost);
}

void code_run::on_output(output_stream s, std::string text) {
  if (text.empty() || finished_) return;
  channel_->send_frame(output_frame(s == output_stream::err, text));
}

std::string code_run::prepare_result(nlohmann::json ev) const {
  auto data = ev.find("data");
  auto metadata = ev.find("metadata");
  if (data == ev.end()) return {};
  // Moved, not copied: a result can be a large rendered output.
  auto r = result_event(std::move(*data),
                        metadata == ev.end() ? nlohmann::json::object() : std::move(*metadata));
  return r ? http::sse_frame(*r) : std::string();
}

void code_run::on_result(std::string prepared) {
  if (finished_ || prepared.empty()) return;
  channel_->send_frame(std::move(prepared));
}

void code_run::on_event(nlohmann::json ev) {
  if (finished_) return;
  const auto& type = ev["type"].get_ref<const std::string&>();
  if (type == "error") {
    error_ = error_event_from(ev);
    return;
  }
  // done
  if (interrupted_ == interrupt_reason::timeout) return finish(timeout_error(), outcome::kept);
  bool success = ev.value("success", false);
  if (success && !error_) {
    finish(complete_event(ev.value("execution_count", std::int64_t{0})), outcome::kept);
    return;
  }
  finish(error_ ? std::move(*error_) : error_event("ExecutionError", "Code execution failed"),
         outcome::kept);
}

nlohmann::json code_run::timeout_error() {
  // A run past its timeout fails, however the code took the interrupt: it
  // may have caught it and finished, or raised something else from it.
  std::string why = "Execution timed out after " + std::to_string(timeout_.count()) + " ms";
  if (!error_) return error_event("TimeoutError", why + " (the code caught the interrupt)");
  auto ename = error_->value("ename", std::string());
  if (ename != "KeyboardInterrupt" && ename != "Interrupted")
    why += "; the code then raised " + ename + ": " + error_->value("evalue", std::string());
  auto last = error_event("TimeoutError", why);
  if (auto tb = error_->find("traceback"); tb != error_->end()) last["traceback"] = std::move(*tb);
  return last;
}

void code_run::on_exit(process::exit_status st) {
  if (finished_) return;
  finish(
      error_event("InterpreterDied", "The " + lang_label(lang_) + " interpreter " + exit_text(st) +
                                         " during this run; the context's state is lost and its "
                                         "next run starts a fresh interpreter"),
      outcome::lost);
}

bool code_run::accepts_output() {
  return channel_->writable();
}

void code_run::when_accepts_output(std::function<void()> resume) {
  channel_->when_writable(std::move(resume));
}

void code_run::finish(nlohmann::json last_event, outcome o) {
  if (finished_) return;
  finished_ = true;
  auto keep_alive = shared_from_this();  // `done` may drop the last owner
  timer_.cancel();
  if (executor_ && o == outcome::kept) executor_->detach();
  channel_->send(last_event);
  channel_->close();
  auto done = std::move(done_);
  done_ = nullptr;
  executor_.reset();
  if (done) done(o);
}

}  // namespace sbx::interp
