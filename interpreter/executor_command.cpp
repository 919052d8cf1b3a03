#include "interpreter/executor_command.hpp"

#include <filesystem>
#include <map>

namespace sbx::interp {

std::string executors_dir(const config& cfg) {
  std::error_code ec;
  // Executors start in the workspace: a relative directory would not resolve there.
  if (!cfg.executors_dir.empty())
    return std::filesystem::absolute(cfg.executors_dir, ec).lexically_normal().string();
  auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) return "interpreter/executors";
  return (exe.parent_path().parent_path() / "interpreter" / "executors")
      .lexically_normal()
      .string();
}

std::vector<std::string> executor_argv(language lang, const std::string& dir) {
  switch (lang) {
    case language::python:
      return {k_python, dir + "/python_executor.py"};
    case language::javascript:
      return {"node", dir + "/node_executor.mjs"};
    case language::typescript:
      return {"node", dir + "/node_executor.mjs", "--typescript"};
  }
  return {};
}

std::vector<std::string> executor_environment() {
  auto env = current_environment();
  static const std::pair<const char*, const char*> k_overrides[] = {{"PYTHONUNBUFFERED", "1"},
                                                                    {"NODE_NO_WARNINGS", "1"},
                                                                    {"LANG", "C.UTF-8"},
                                                                    {"LC_ALL", "C.UTF-8"}};
  for (const auto& [name, value] : k_overrides) env.insert_or_assign(name, std::string(value));
  return to_env_list(env);
}

}  // namespace sbx::interp
