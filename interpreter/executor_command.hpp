#pragma once
// How each language's executor is started (interpreter/executors/*).
#include <string>
#include <vector>

#include "core/config.hpp"
#include "interpreter/language.hpp"

namespace sbx::interp {

// Debian's interpreter, which has IPython, numpy, pandas and matplotlib; the
// first python3 on PATH may be a bare one.
inline constexpr const char* k_python = "/usr/bin/python3";

// cfg.executors_dir, else <directory of this binary>/../interpreter/executors.
std::string executors_dir(const config& cfg);

std::vector<std::string> executor_argv(language lang, const std::string& dir);

// The daemon's environment plus what the executors need to behave.
std::vector<std::string> executor_environment();

}  // namespace sbx::interp
