#pragma once
// Background commands that are one plain program call ("sleep 60",
// "python3 -m http.server 8080") are exec'd directly instead of through
// `bash -c`. bash would exec them in place anyway (a single simple command),
// so the process, its PID and its signals are the same; what is saved is
// bash's start-up, which is most of the cost of starting a process.
// Anything a shell would interpret (quotes, expansions, redirections,
// operators, globs, assignments, builtins, keywords, exported functions)
// keeps going through bash. The child finds the program along PATH itself;
// when it cannot exec one, it runs the command through bash after all, so a
// missing program's error reads as bash's.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "process/environment.hpp"

namespace sbx::process {

struct direct_command {
  std::vector<std::string> argv;  // argv[0] as typed
  std::string search_path;        // the child's PATH
};

// The direct form of `command` for a child with environment `env`
// ("NAME=value" entries), or nullopt when bash is needed.
std::optional<direct_command> as_direct_command(std::string_view command, const environment& env);

// The environment bash -c would have handed the program: PWD set to the
// directory it runs in, SHLVL normalised. (`_` is the launcher's: searching
// PATH, the child sets it to the path it execs.)
environment direct_command_env(environment env, const std::string& cwd);

}  // namespace sbx::process
