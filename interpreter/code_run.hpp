#pragma once
// One POST /api/execute/code: a run of code on a context's executor,
// streamed to an SSE channel as it happens (API.md §10.5): stdout/stderr
// events as the code prints, result events, then `error` (failure) or
// `execution_complete` (success) as the last event. Runs on the strand.
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include <boost/asio/steady_timer.hpp>
#include <nlohmann/json.hpp>

#include "interpreter/executor.hpp"
#include "server/sse.hpp"

namespace sbx::interp {

class code_run : public executor_listener, public std::enable_shared_from_this<code_run> {
 public:
  // kept: the executor is fine for the next run; lost: it died or was
  // killed, the context needs a fresh one (the run has said so).
  enum class outcome { kept, lost };
  using finished_fn = std::function<void(outcome)>;

  code_run(strand& s, std::shared_ptr<http::sse_channel> channel, std::string code, language lang,
           std::chrono::milliseconds timeout, std::chrono::milliseconds interrupt_grace);

  language lang() const { return lang_; }
  // The client went away before the run reached its executor.
  bool abandoned() const { return channel_->cancelled(); }

  void start(std::shared_ptr<executor> e, const std::string& id, finished_fn done);
  // Ends a run that never reached an executor, with this error as last event.
  void fail(std::string ename, std::string evalue);
  // The client disconnected: interrupt the code (nobody reads its output).
  void cancel();
  // The context is going away and its executor is being killed.
  void abort(std::string evalue);

  void on_output(output_stream s, std::string text) override;
  std::string prepare_result(nlohmann::json event) const override;
  void on_result(std::string prepared) override;
  void on_event(nlohmann::json event) override;
  void on_exit(process::exit_status st) override;
  bool accepts_output() override;
  void when_accepts_output(std::function<void()> resume) override;

 private:
  enum class interrupt_reason { none, timeout, cancelled };

  void interrupt(interrupt_reason why);
  void on_grace_expired();
  void finish(nlohmann::json last_event, outcome o);
  // The last event of a run interrupted for its timeout.
  nlohmann::json timeout_error();

  std::shared_ptr<http::sse_channel> channel_;
  std::string code_;
  language lang_;
  std::chrono::milliseconds timeout_;
  std::chrono::milliseconds grace_;
  boost::asio::steady_timer timer_;
  std::shared_ptr<executor> executor_;
  finished_fn done_;
  bool finished_ = false;
  interrupt_reason interrupted_ = interrupt_reason::none;
  std::optional<nlohmann::json> error_;
};

}  // namespace sbx::interp
