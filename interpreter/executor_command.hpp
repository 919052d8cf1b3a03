#pragma once
// How each language's executor is started (interpreter/executors/*).
#include <string>
#include <vector>

#include "core/config.hpp"
#include "interpreter/language.hpp"

namespace sbx::interp {

// Debian's interpreter, which has IPython, numpy, pandas and matplotlib; the
// first python3 on PATH may be a bare one.
inline constexpr const char* k_python = SANDBOXD_PYTHON;

struct executor_files {
  // cfg.executors_dir, else <directory of this binary>/../interpreter/executors.
  std::string dir;
  // sandboxd_print.so (interpreter/executors/sandboxd_print.c) in dir or beside
  // this binary; empty when it was not built, and Python keeps its own print.
  std::string python_print_module;
};

executor_files locate_executor_files(const config& cfg);

std::vector<std::string> executor_argv(language lang, const executor_files& files);

// The daemon's environment plus what the executors need to behave.
std::vector<std::string> executor_environment();

}  // namespace sbx::interp
