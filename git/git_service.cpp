#include "git/git_service.hpp"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <limits>
#include <utility>
#include <vector>

#include "core/log.hpp"
#include "git/clone_failure.hpp"
#include "git/git_command.hpp"
#include "git/git_url.hpp"

namespace sbx {
namespace {

constexpr std::size_t k_max_path_chars = 4096;

std::string trimmed(const std::string& s) {
  auto first = s.find_first_not_of(" \t\r\n\f\v");
  if (first == std::string::npos) return {};
  return s.substr(first, s.find_last_not_of(" \t\r\n\f\v") - first + 1);
}

std::string joined(const std::vector<std::string>& problems) {
  std::string out;
  for (const auto& p : problems) out += (out.empty() ? "" : ", ") + p;
  return out;
}

nlohmann::json validation_errors(std::string_view field, const std::vector<std::string>& problems,
                                 std::string_view code) {
  auto list = nlohmann::json::array();
  for (const auto& p : problems) list.push_back({{"field", field}, {"message", p}, {"code", code}});
  return {{"validationErrors", std::move(list)}};
}

api_error invalid_url_error(const std::string& url, const std::vector<std::string>& problems) {
  return make_error(codes::invalid_git_url,
                    "Invalid Git URL '" + git::redact_credentials(url) + "': " + joined(problems),
                    validation_errors("repoUrl", problems, codes::invalid_git_url));
}

// API.md §12.1 (an empty target means "the default", so it never gets here).
std::vector<std::string> target_dir_problems(const std::string& dir) {
  std::vector<std::string> problems;
  if (dir.find('\0') != std::string::npos) problems.emplace_back("Path contains null bytes");
  if (dir.size() > k_max_path_chars) problems.emplace_back("Path too long (max 4096 characters)");
  return problems;
}

api_error invalid_target_error(const std::string& dir, const std::vector<std::string>& problems) {
  return make_error(codes::validation_failed,
                    "Invalid target directory '" + dir + "': " + joined(problems),
                    validation_errors("targetDirectory", problems, "INVALID_PATH"));
}

std::string absolute_in(const std::string& dir, const std::string& base) {
  std::filesystem::path p(dir);
  if (p.is_absolute()) return dir;
  return (std::filesystem::path(base) / p).lexically_normal().string();
}

// The session's environment, made safe for an unattended clone: no prompt
// can wait for input (also: stdin is /dev/null and the child has no
// controlling terminal), messages are in English so failures can be
// classified, and variables pointing git at another repository are dropped.
std::vector<std::string> clone_environment(const std::vector<std::string>& session_env) {
  static const std::vector<std::string> overridden{
      "GIT_DIR",       "GIT_WORK_TREE",       "GIT_INDEX_FILE",  "GIT_OBJECT_DIRECTORY",
      "GIT_NAMESPACE", "GIT_TERMINAL_PROMPT", "GCM_INTERACTIVE", "LC_ALL",
      "LANGUAGE"};
  std::vector<std::string> env;
  for (const auto& entry : session_env) {
    std::string name = entry.substr(0, entry.find('='));
    if (std::find(overridden.begin(), overridden.end(), name) == overridden.end())
      env.push_back(entry);
  }
  env.insert(env.end(), {"GIT_TERMINAL_PROMPT=0", "GCM_INTERACTIVE=never", "LC_ALL=C.UTF-8"});
  return env;
}

std::chrono::milliseconds clone_timeout(std::uint64_t ms) {
  // 0 means no limit, as for the other timeouts.
  return ms == 0 ? std::chrono::hours(24 * 365) : std::chrono::milliseconds(ms);
}

}  // namespace

struct git_service::clone_job {
  clone_request req;
  std::string url;         // trimmed: what git is given
  std::string target_dir;  // absolute
  std::vector<std::string> env;
  clone_done done;
  std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();

  git::clone_failure failure(int exit_code, std::string stderr_text) const {
    return {*req.repo_url, target_dir, req.branch, exit_code, std::move(stderr_text)};
  }
};

git_service::git_service(runtime& rt, session_manager& sessions) : rt_(rt), sessions_(sessions) {}

git_service::~git_service() = default;

void git_service::clone(clone_request req, clone_done done) {
  auto url_problems = git::git_url_problems(req.repo_url ? &*req.repo_url : nullptr);
  if (!url_problems.empty())
    return done(invalid_url_error(req.repo_url.value_or(""), url_problems));
  if (req.branch && req.branch->find('\0') != std::string::npos)
    return done(field_error("branch", "must not contain null bytes"));
  if (req.branch && req.branch->empty()) req.branch.reset();
  // git parses --depth as an int.
  if (req.depth && (*req.depth < 1 || *req.depth > std::numeric_limits<int>::max()))
    return done(field_error("depth", "must be an integer >= 1"));

  auto job = std::make_shared<clone_job>();
  job->url = trimmed(*req.repo_url);
  std::string dir = req.target_dir.value_or("");
  if (dir.empty()) {
    dir = (std::filesystem::path(rt_.cfg.workspace) / git::repo_name(job->url)).string();
  } else if (auto problems = target_dir_problems(dir); !problems.empty()) {
    return done(invalid_target_error(dir, problems));
  }
  job->target_dir = absolute_in(dir, sessions_.cwd_of(req.session_id));
  job->req = std::move(req);
  job->done = std::move(done);

  sessions_.context(job->req.session_id, [this, job](result<session_context> ctx) {
    if (!ctx) return job->done(ctx.error());
    run_clone(job, std::move(*ctx));
  });
}

void git_service::run_clone(std::shared_ptr<clone_job> job, session_context ctx) {
  job->env = clone_environment(ctx.env);
  // protocol.ext.allow=never: an "ext::" URL would run an arbitrary command.
  std::vector<std::string> argv{"git", "-c", "protocol.ext.allow=never", "clone", "--quiet"};
  if (job->req.branch) argv.push_back("--branch=" + *job->req.branch);
  if (job->req.depth) {
    argv.push_back("--depth=" + std::to_string(*job->req.depth));
    // Local paths are copied, not fetched, and would ignore --depth.
    argv.push_back("--no-local");
  }
  // "--": a URL or directory starting with '-' can never become an option.
  argv.insert(argv.end(), {"--", job->url, job->target_dir});

  git::command_spec spec{std::move(argv), job->env, ctx.cwd, clone_timeout(rt_.cfg.git_timeout_ms),
                         std::chrono::milliseconds(rt_.cfg.kill_grace_ms)};
  launch(
      std::move(spec),
      [this, job](git::command_outcome out) {
        if (out.timed_out) {
          auto e = git::clone_timeout_error(
              job->failure(out.status.shell_code(), std::move(out.err)), rt_.cfg.git_timeout_ms);
          return finish(job, std::move(e));
        }
        if (out.status.shell_code() != 0)
          return finish(
              job, git::clone_error(job->failure(out.status.shell_code(), std::move(out.err))));
        read_branch(job);
      },
      [this, job](api_error e) { finish(job, git::clone_error(job->failure(-1, e.message))); });
}

void git_service::read_branch(std::shared_ptr<clone_job> job) {
  auto fallback = job->req.branch.value_or("unknown");
  git::command_spec spec{{"git", "symbolic-ref", "--short", "-q", "HEAD"},
                         job->env,
                         job->target_dir,
                         clone_timeout(rt_.cfg.git_timeout_ms),
                         std::chrono::milliseconds(rt_.cfg.kill_grace_ms)};
  // A detached HEAD (a tag was checked out) has no branch name.
  launch(
      std::move(spec),
      [this, job, fallback](git::command_outcome out) {
        std::string name = trimmed(out.out);
        bool named = !out.timed_out && out.status.shell_code() == 0 && !name.empty();
        finish(job, clone_result{job->target_dir, named ? name : fallback});
      },
      [this, job, fallback](api_error) {
        finish(job, clone_result{job->target_dir, fallback});
      });
}

void git_service::launch(git::command_spec spec, std::function<void(git::command_outcome)> on_done,
                         std::function<void(api_error)> on_fail) {
  std::optional<std::uint64_t> id;
  {
    std::lock_guard lock(mutex_);
    if (!shut_down_) {
      id = next_id_++;
      // Registered before the child starts: it may finish before start() returns.
      running_.emplace(*id, nullptr);
    }
  }
  if (!id) return on_fail(make_error(codes::git_clone_failed, "the daemon is shutting down"));
  auto cmd = git::git_command::start(
      rt_, std::move(spec), [this, id = *id, on_done = std::move(on_done)](git::command_outcome o) {
        untrack(id);
        on_done(std::move(o));
      });
  if (!cmd) {
    untrack(*id);
    return on_fail(cmd.error());
  }
  std::lock_guard lock(mutex_);
  if (auto it = running_.find(*id); it != running_.end()) it->second = *cmd;
  if (shut_down_) (*cmd)->kill();
}

void git_service::untrack(std::uint64_t id) {
  std::lock_guard lock(mutex_);
  running_.erase(id);
}

void git_service::finish(const std::shared_ptr<clone_job>& job, result<clone_result> outcome) {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                                  job->started)
                .count();
  nlohmann::json fields{{"repository", git::redact_credentials(job->url)},
                        {"targetDir", job->target_dir},
                        {"durationMs", ms}};
  if (outcome) {
    fields["branch"] = outcome->branch;
    log::info("repository cloned", fields);
  } else {
    fields["code"] = outcome.error().code;
    log::warn("repository clone failed", fields);
  }
  job->done(std::move(outcome));
}

void git_service::shutdown() {
  std::lock_guard lock(mutex_);
  shut_down_ = true;
  for (auto& [id, cmd] : running_)
    if (cmd) cmd->kill();
}

}  // namespace sbx
