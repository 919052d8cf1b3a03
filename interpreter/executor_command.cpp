#include "interpreter/executor_command.hpp"

#include <filesystem>
#include <map>

namespace sbx::interp {

executor_files locate_executor_files(const config& cfg) {
  namespace fs = std::filesystem;
  std::error_code ec;
  auto exe_dir = fs::read_symlink("/proc/self/exe", ec).parent_path();
  executor_files files;
  // Executors start in the workspace: a relative directory would not resolve there.
  if (!cfg.executors_dir.empty())
    files.dir = fs::absolute(cfg.executors_dir, ec).lexically_normal().string();
  else if (!exe_dir.empty())
    files.dir = (exe_dir.parent_path() / "interpreter" / "executors").lexically_normal().string();
  else
    files.dir = "interpreter/executors";
  // An image installs it beside the executors; a build tree has it beside the binary.
  for (const fs::path& candidate : {fs::path(files.dir), exe_dir}) {
    if (candidate.empty()) continue;
    auto module = candidate / "sandboxd_print.so";
    if (fs::is_regular_file(module, ec)) {
      files.python_print_module = module.lexically_normal().string();
      break;
    }
  }
  return files;
}

std::vector<std::string> executor_argv(language lang, const executor_files& files) {
  switch (lang) {
    case language::python: {
      std::vector<std::string> argv{k_python, files.dir + "/python_executor.py"};
      if (!files.python_print_module.empty())
        argv.push_back("--print-module=" + files.python_print_module);
      return argv;
    }
    case language::javascript:
      return {"node", files.dir + "/node_executor.mjs"};
    case language::typescript:
      return {"node", files.dir + "/node_executor.mjs", "--typescript"};
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
