#include "core/config.hpp"

#include <charconv>
#include <optional>
#include <stdexcept>

extern char** environ;

namespace sbx {
namespace {

constexpr const char* k_help =
    "usage: sandboxd [--port N] [--bind ADDR] [--help] [--version]\n"
    "\n"
    "HTTP control plane for a sandbox container (Cloudflare Sandbox SDK compatible).\n"
    "\n"
    "  --port N      listen port (env PORT, default 3000; 0 picks a free port)\n"
    "  --bind ADDR   listen address (env BIND, default 0.0.0.0)\n"
    "  --help        print this help\n"
    "  --version     print the version\n"
    "\n"
    "Environment: SANDBOX_VERSION, SANDBOX_LOG_LEVEL (debug|info|warn|error),\n"
    "SANDBOX_LOG_FORMAT (json|pretty), COMMAND_TIMEOUT_MS, MAX_OUTPUT_SIZE_BYTES,\n"
    "INTERPRETER_SPAWN_TIMEOUT_MS, INTERPRETER_EXECUTION_TIMEOUT_MS,\n"
    "{PYTHON,JAVASCRIPT,TYPESCRIPT}_POOL_{MIN,MAX}_SIZE, SANDBOXD_MAX_BODY_BYTES,\n"
    "SANDBOXD_IDLE_TIMEOUT_MS, SANDBOXD_SHUTDOWN_GRACE_MS, SANDBOXD_KILL_GRACE_MS,\n"
    "SANDBOXD_PROCESS_LOG_BYTES, SANDBOXD_FINISHED_LOG_BYTES, SANDBOXD_GIT_TIMEOUT_MS,\n"
    "SANDBOXD_IO_THREADS, SANDBOXD_BLOCKING_THREADS, SANDBOXD_WORKSPACE,\n"
    "SANDBOXD_EXECUTORS_DIR.\n";

struct bad_value : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// A century: a deadline further away would overflow the clock's nanoseconds.
constexpr std::uint64_t k_max_duration_ms = 100ULL * 366 * 24 * 3600 * 1000;

std::uint64_t parse_uint(const std::string& name, const std::string& text, std::uint64_t max) {
  std::uint64_t value = 0;
  const char* first = text.data();
  const char* last = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(first, last, value, 10);
  if (text.empty() || ec != std::errc{} || ptr != last || value > max)
    throw bad_value(name + ": expected an integer between 0 and " + std::to_string(max) +
                    ", got '" + text + "'");
  return value;
}

class env_reader {
 public:
  explicit env_reader(const std::map<std::string, std::string>& env) : env_(env) {}

  std::optional<std::string> get(const std::string& name) const {
    auto it = env_.find(name);
    if (it == env_.end()) return std::nullopt;
    return it->second;
  }
  void uint(const std::string& name, std::uint64_t& out, std::uint64_t max = UINT64_MAX) const {
    if (auto v = get(name); v && !v->empty()) out = parse_uint(name, *v, max);
  }
  void integer(const std::string& name, int& out, int min, int max) const {
    if (auto v = get(name); v && !v->empty()) {
      auto value = parse_uint(name, *v, static_cast<std::uint64_t>(max));
      if (static_cast<int>(value) < min)
        throw bad_value(name + ": must be at least " + std::to_string(min));
      out = static_cast<int>(value);
    }
  }
  void choice(const std::string& name, std::string& out,
              std::initializer_list<const char*> allowed) const {
    auto v = get(name);
    if (!v || v->empty()) return;
    for (const char* a : allowed)
      if (*v == a) {
        out = *v;
        return;
      }
    std::string list;
    for (const char* a : allowed) list += (list.empty() ? "" : ", ") + std::string(a);
    throw bad_value(name + ": expected one of " + list + ", got '" + *v + "'");
  }

 private:
  const std::map<std::string, std::string>& env_;
};

void read_pool(const env_reader& env, const std::string& prefix, pool_limits& pool) {
  env.integer(prefix + "_POOL_MIN_SIZE", pool.min_size, 0, 64);
  env.integer(prefix + "_POOL_MAX_SIZE", pool.max_size, 1, 256);
  if (pool.min_size > pool.max_size)
    throw bad_value(prefix + "_POOL_MIN_SIZE (" + std::to_string(pool.min_size) + ") exceeds " +
                    prefix + "_POOL_MAX_SIZE (" + std::to_string(pool.max_size) + ")");
}

}  // namespace

config_outcome parse_config(const std::vector<std::string>& args,
                            const std::map<std::string, std::string>& env_map) {
  config_outcome out;
  config& c = out.cfg;
  try {
    env_reader env(env_map);
    if (auto v = env.get("BIND"); v && !v->empty()) c.bind = *v;
    env.integer("PORT", c.port, 0, 65535);
    env.choice("SANDBOX_LOG_LEVEL", c.log_level, {"debug", "info", "warn", "error"});
    env.choice("SANDBOX_LOG_FORMAT", c.log_format, {"json", "pretty"});
    if (auto v = env.get("SANDBOX_VERSION"); v && !v->empty()) c.sandbox_version = *v;
    env.uint("COMMAND_TIMEOUT_MS", c.command_timeout_ms, k_max_duration_ms);
    env.uint("MAX_OUTPUT_SIZE_BYTES", c.max_output_bytes);
    env.uint("INTERPRETER_SPAWN_TIMEOUT_MS", c.interpreter_spawn_timeout_ms, k_max_duration_ms);
    env.uint("INTERPRETER_EXECUTION_TIMEOUT_MS", c.interpreter_exec_timeout_ms, k_max_duration_ms);
    read_pool(env, "PYTHON", c.python_pool);
    read_pool(env, "JAVASCRIPT", c.javascript_pool);
    read_pool(env, "TYPESCRIPT", c.typescript_pool);
    env.uint("SANDBOXD_MAX_BODY_BYTES", c.max_body_bytes);
    env.uint("SANDBOXD_IDLE_TIMEOUT_MS", c.idle_timeout_ms, k_max_duration_ms);
    env.uint("SANDBOXD_SHUTDOWN_GRACE_MS", c.shutdown_grace_ms, k_max_duration_ms);
    env.uint("SANDBOXD_KILL_GRACE_MS", c.kill_grace_ms, k_max_duration_ms);
    env.uint("SANDBOXD_PROCESS_LOG_BYTES", c.process_log_bytes);
    env.uint("SANDBOXD_FINISHED_LOG_BYTES", c.finished_log_bytes);
    env.uint("SANDBOXD_GIT_TIMEOUT_MS", c.git_timeout_ms, k_max_duration_ms);
    env.integer("SANDBOXD_IO_THREADS", c.io_threads, 1, 64);
    env.integer("SANDBOXD_BLOCKING_THREADS", c.blocking_threads, 1, 256);
    if (auto v = env.get("SANDBOXD_WORKSPACE"); v && !v->empty()) c.workspace = *v;
    if (auto v = env.get("SANDBOXD_EXECUTORS_DIR"); v && !v->empty()) c.executors_dir = *v;

    for (std::size_t i = 0; i < args.size(); ++i) {
      const std::string& a = args[i];
      auto value = [&](const std::string& flag) -> std::string {
        auto eq = a.find('=');
        if (eq != std::string::npos) return a.substr(eq + 1);
        if (i + 1 >= args.size()) throw bad_value(flag + ": missing value");
        return args[++i];
      };
      if (a == "--help" || a == "-h") {
        out.what = config_outcome::kind::help;
        out.message = k_help;
        return out;
      } else if (a == "--version") {
        out.what = config_outcome::kind::version;
        out.message = std::string("sandboxd ") + SANDBOXD_VERSION_STRING + "\n";
        return out;
      } else if (a == "--port" || a.rfind("--port=", 0) == 0) {
        c.port = static_cast<int>(parse_uint("--port", value("--port"), 65535));
      } else if (a == "--bind" || a.rfind("--bind=", 0) == 0) {
        c.bind = value("--bind");
        if (c.bind.empty()) throw bad_value("--bind: empty address");
      } else {
        throw bad_value("unknown argument '" + a + "' (see --help)");
      }
    }
  } catch (const bad_value& e) {
    out.what = config_outcome::kind::error;
    out.message = std::string("sandboxd: invalid configuration: ") + e.what() + "\n";
  }
  return out;
}

std::map<std::string, std::string> current_environment() {
  std::map<std::string, std::string> env;
  for (char** e = environ; e && *e; ++e) {
    std::string entry(*e);
    auto eq = entry.find('=');
    if (eq == std::string::npos) continue;
    env.emplace(entry.substr(0, eq), entry.substr(eq + 1));
  }
  return env;
}

std::vector<std::string> to_env_list(const std::map<std::string, std::string>& env) {
  std::vector<std::string> out;
  out.reserve(env.size());
  for (const auto& [k, v] : env) out.push_back(k + "=" + v);
  return out;
}

}  // namespace sbx
