#pragma once
// A code context (API.md §10.3): its settings, the executors it owns (one
// per language it has run; the context's own language first), and its runs,
// which execute one at a time in arrival order.
#include <array>
#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "interpreter/code_run.hpp"
#include "interpreter/executor.hpp"
#include "interpreter/language.hpp"

namespace sbx::interp {

struct code_context {
  struct executor_slot {
    std::shared_ptr<executor> exec;
    // Set when the executor died between runs: the next run reports it.
    std::optional<std::string> loss_report;
    // When a run last started on `exec`: the least recently used idle
    // executor gives way when a language's executors are all taken.
    std::chrono::steady_clock::time_point last_used{};
  };

  std::string id;
  language lang = language::python;
  std::string cwd;
  std::map<std::string, std::string> env;
  std::array<executor_slot, all_languages.size()> slots;
  std::deque<std::shared_ptr<code_run>> queue;
  std::shared_ptr<code_run> active;
  std::uint64_t runs_started = 0;
  bool deleted = false;
};

}  // namespace sbx::interp
