// git: URL helpers, failure classification, and real clones of local
// repositories through git_service (no network beyond loopback).
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/thread_pool.hpp>
#include <catch2/catch.hpp>

#include "core/config.hpp"
#include "core/runtime.hpp"
#include "git/clone_failure.hpp"
#include "git/git_service.hpp"
#include "git/git_url.hpp"
#include "process/reaper.hpp"
#include "session/session_manager.hpp"

namespace fs = std::filesystem;
using namespace sbx;

TEST_CASE("git URL validation follows the contract's problems", "[git]") {
  CHECK(git::git_url_problems(nullptr) ==
        std::vector<std::string>{"Git URL must be a non-empty string"});
  std::string empty;
  CHECK(git::git_url_problems(&empty) ==
        std::vector<std::string>{"Git URL must be a non-empty string"});
  std::string blank = "  \t ";
  CHECK(git::git_url_problems(&blank) == std::vector<std::string>{"Git URL cannot be empty"});
  std::string long_url = "https://example.com/" + std::string(2048, 'a');
  CHECK(git::git_url_problems(&long_url) ==
        std::vector<std::string>{"Git URL too long (max 2048 characters)"});
  std::string exactly_max(2048, 'a');
  CHECK(git::git_url_problems(&exactly_max).empty());
  std::string with_nul = std::string("https://example.com/a") + '\0' + "b";
  CHECK(git::git_url_problems(&with_nul) ==
        std::vector<std::string>{"Git URL contains null bytes"});
  std::string ok = "  https://example.com/org/repo.git  ";
  CHECK(git::git_url_problems(&ok).empty());
}

TEST_CASE("repo_name is the last path segment without .git", "[git]") {
  CHECK(git::repo_name("https://github.com/org/repo.git") == "repo");
  CHECK(git::repo_name("https://github.com/org/repo") == "repo");
  CHECK(git::repo_name("https://github.com/org/repo/") == "repo");
  CHECK(git::repo_name("https://github.com/org/repo.git?ref=x#frag") == "repo");
  CHECK(git::repo_name("git@github.com:org/repo.git") == "repo");
  CHECK(git::repo_name("git@github.com:repo.git") == "repo");
  CHECK(git::repo_name("ssh://git@host:2222/org/tool.git") == "tool");
  CHECK(git::repo_name("file:///srv/git/proj.git") == "proj");
  CHECK(git::repo_name("/srv/git/plain") == "plain");
  CHECK(git::repo_name("  /srv/git/spaced.git  ") == "spaced");
  CHECK(git::repo_name("repo.git") == "repo");
  CHECK(git::repo_name("https://example.com/") == "repository");
  CHECK(git::repo_name("https://example.com") == "repository");
  CHECK(git::repo_name("https://example.com?x=/y") == "repository");
  CHECK(git::repo_name("https://example.com/.git") == "repository");
  CHECK(git::repo_name("") == "repository");
  CHECK(git::repo_name("/") == "repository");
  CHECK(git::repo_name("..") == "repository");
}

TEST_CASE("redact_credentials hides user-info of URLs only", "[git]") {
  CHECK(git::redact_credentials("https://user:token@github.com/org/repo.git") ==
        "https://***@github.com/org/repo.git");
  CHECK(git::redact_credentials("https://token@host") == "https://***@host");
  CHECK(git::redact_credentials("fatal: unable to access 'https://u:s3cret@h.example/x/': 403") ==
        "fatal: unable to access 'https://***@h.example/x/': 403");
  // A raw '@' in the password: the last '@' of the authority ends user-info.
  CHECK(git::redact_credentials("https://u:p@ss@host/r") == "https://***@host/r");
  CHECK(git::redact_credentials("a http://x:y@one/ and ssh://k@two:22/p") ==
        "a http://***@one/ and ssh://***@two:22/p");
  // Nothing secret: left alone.
  CHECK(git::redact_credentials("https://github.com/org/repo") == "https://github.com/org/repo");
  CHECK(git::redact_credentials("https://host/path@v1") == "https://host/path@v1");
  CHECK(git::redact_credentials("git@github.com:org/repo.git") == "git@github.com:org/repo.git");
  CHECK(git::redact_credentials("no url here") == "no url here");
  CHECK(git::redact_credentials("://x@y") == "://x@y");
  CHECK(git::redact_credentials("") == "");
}

TEST_CASE("clone stderr maps to registry codes", "[git]") {
  auto code = [](std::string_view err) { return std::string(git::classify_clone_stderr(err)); };
  CHECK(code("fatal: repository '/tmp/nope' does not exist\n") == "GIT_REPOSITORY_NOT_FOUND");
  CHECK(code("fatal: unable to access 'http://127.0.0.1:9/x.git/': Failed to connect to 127.0.0.1 "
             "port 9 after 0 ms: Couldn't connect to server") == "GIT_NETWORK_ERROR");
  CHECK(code("fatal: http://127.0.0.1:8000/x.git/info/refs not valid: is this a git repository?") ==
        "GIT_REPOSITORY_NOT_FOUND");
  CHECK(code("remote: Not Found\nfatal: repository 'https://h/x/' not found") ==
        "GIT_REPOSITORY_NOT_FOUND");
  CHECK(code("fatal: '/tmp/dir' does not appear to be a git repository\n"
             "fatal: Could not read from remote repository.") == "GIT_REPOSITORY_NOT_FOUND");
  CHECK(code("fatal: remote error: access denied or repository not exported: /x.git") ==
        "GIT_REPOSITORY_NOT_FOUND");
  CHECK(code("warning: Could not find remote branch nope to clone.\n"
             "fatal: Remote branch nope not found in upstream origin") == "GIT_BRANCH_NOT_FOUND");
  CHECK(code("fatal: destination path 'repo' already exists and is not an empty directory.") ==
        "FILE_EXISTS");
  CHECK(
      code("fatal: could not read Username for 'https://github.com': terminal prompts disabled") ==
      "GIT_AUTH_FAILED");
  CHECK(code("remote: Invalid username or password.\nfatal: Authentication failed for 'x'") ==
        "GIT_AUTH_FAILED");
  CHECK(code("git@github.com: Permission denied (publickey).\r\n"
             "fatal: Could not read from remote repository.") == "GIT_AUTH_FAILED");
  CHECK(code("fatal: unable to access 'https://nohost/': Could not resolve host: nohost") ==
        "GIT_NETWORK_ERROR");
  CHECK(code("ssh: Could not resolve hostname nohost: Name or service not known\r\n"
             "fatal: Could not read from remote repository.") == "GIT_NETWORK_ERROR");
  CHECK(code("fatal: unable to connect to 127.0.0.1:\n127.0.0.1[0: 127.0.0.1]: errno=Connection "
             "refused") == "GIT_NETWORK_ERROR");
  CHECK(code("fatal: unable to access 'https://h/': Failed to connect to h port 443: Connection "
             "timed out") == "GIT_NETWORK_ERROR");
  CHECK(code("fatal: Unable to find remote helper for 'foo'") == "GIT_CLONE_FAILED");
  CHECK(code("") == "GIT_CLONE_FAILED");
}

TEST_CASE("clone_error builds the contract's message and redacted context", "[git]") {
  git::clone_failure f{
      "https://user:tok@host.example/org/private.git", "/workspace/private", std::string("main"),
      128, "fatal: Authentication failed for 'https://user:tok@host.example/org/private.git/'\n"};
  auto e = git::clone_error(f);
  CHECK(e.code == "GIT_AUTH_FAILED");
  CHECK(e.http_status() == 401);
  CHECK(e.message ==
        "Failed to clone repository 'https://***@host.example/org/private.git': fatal: "
        "Authentication failed for 'https://***@host.example/org/private.git/'");
  CHECK(e.message.find("tok") == std::string::npos);
  CHECK(e.context["repository"] == "https://***@host.example/org/private.git");
  CHECK(e.context["targetDir"] == "/workspace/private");
  CHECK(e.context["exitCode"] == 128);
  CHECK(e.context["branch"] == "main");
  CHECK(e.context.dump().find("tok") == std::string::npos);

  git::clone_failure silent{"/srv/x", "/w/x", std::nullopt, 3, ""};
  auto s = git::clone_error(silent);
  CHECK(s.code == "GIT_CLONE_FAILED");
  CHECK(s.message == "Failed to clone repository '/srv/x': exit code 3");
  CHECK_FALSE(s.context.contains("branch"));

  git::clone_failure exists{"/srv/x", "/w/x", std::nullopt, 128,
                            "fatal: destination path '/w/x' already exists and is not an empty "
                            "directory.\n"};
  auto x = git::clone_error(exists);
  CHECK(x.code == "FILE_EXISTS");
  CHECK(x.http_status() == 409);
  CHECK(x.context["path"] == "/w/x");
  CHECK(x.context["targetDir"] == "/w/x");

  auto t = git::clone_timeout_error(silent, 250);
  CHECK(t.code == "GIT_CLONE_FAILED");
  CHECK(t.message == "Failed to clone repository '/srv/x': timed out after 250 ms");
}

namespace {

// A daemon-shaped runtime in a temporary directory: the workspace, bare
// repositories to clone, and the services under test.
class git_fixture {
 public:
  git_fixture() : root_(make_root()), blocking_(1), reaper_(io_) {
    cfg_.workspace = (root_ / "workspace").string();
    cfg_.kill_grace_ms = 500;
    fs::create_directories(cfg_.workspace);
  }

  ~git_fixture() {
    if (git_) git_->shutdown();
    if (sessions_) sessions_->shutdown();
    drive([&] { return reaper_.live() == 0; }, std::chrono::seconds(5));
    git_.reset();
    sessions_.reset();
    blocking_.join();
    std::error_code ec;
    fs::remove_all(root_, ec);
  }

  const fs::path& root() const { return root_; }
  config& cfg() { return cfg_; }
  process::reaper& reaper() { return reaper_; }

  // Runs the I/O context until `done` holds or the deadline passes.
  bool drive(const std::function<bool()>& done, std::chrono::milliseconds limit) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    while (!done()) {
      if (std::chrono::steady_clock::now() >= deadline) return false;
      io_.restart();
      io_.run_one_for(std::chrono::milliseconds(50));
    }
    return true;
  }

  // Runs a fixture command to completion through the reaper.
  void run(std::vector<std::string> argv, const fs::path& cwd) {
    std::vector<std::string> env{"PATH=/usr/local/bin:/usr/bin:/bin",
                                 "HOME=" + root_.string(),
                                 "GIT_CONFIG_NOSYSTEM=1",
                                 "GIT_AUTHOR_NAME=Fixture",
                                 "GIT_AUTHOR_EMAIL=fixture@example.com",
                                 "GIT_COMMITTER_NAME=Fixture",
                                 "GIT_COMMITTER_EMAIL=fixture@example.com"};
    std::optional<process::exit_status> status;
    process::spawn_options opts;
    opts.argv = argv;
    opts.env = env;
    opts.cwd = cwd.string();
    auto pid = reaper_.spawn(opts, [&](process::exit_status s) { status = s; });
    REQUIRE(pid.ok());
    REQUIRE(drive([&] { return status.has_value(); }, std::chrono::seconds(30)));
    REQUIRE(status->code == 0);
  }

  // A bare repository "<name>.git": two commits on main, one more on
  // branch "feature", and tag v1 on main's first commit.
  fs::path make_repo(const std::string& name) {
    fs::path work = root_ / ("src-" + name);
    fs::create_directories(work);
    run({"git", "init", "-q", "-b", "main"}, work);
    write(work / "README.md", "hello from " + name + "\n");
    run({"git", "add", "."}, work);
    run({"git", "commit", "-qm", "first"}, work);
    run({"git", "tag", "v1"}, work);
    write(work / "second.txt", "two\n");
    run({"git", "add", "."}, work);
    run({"git", "commit", "-qm", "second"}, work);
    run({"git", "checkout", "-qb", "feature"}, work);
    write(work / "feature.txt", "feature\n");
    run({"git", "add", "."}, work);
    run({"git", "commit", "-qm", "feature"}, work);
    run({"git", "checkout", "-q", "main"}, work);
    fs::path bare = root_ / (name + ".git");
    run({"git", "clone", "-q", "--bare", work.string(), bare.string()}, root_);
    return bare;
  }

  git_service& git() {
    if (!git_) {
      rt_.emplace(runtime{cfg_, io_, blocking_, reaper_});
      sessions_ = std::make_unique<session_manager>(*rt_);
      git_ = std::make_unique<git_service>(*rt_, *sessions_);
    }
    return *git_;
  }

  result<clone_result> clone(clone_request req,
                             std::chrono::milliseconds limit = std::chrono::seconds(60)) {
    if (req.session_id.empty()) req.session_id = "default";
    std::optional<result<clone_result>> out;
    git().clone(std::move(req), [&](result<clone_result> r) { out.emplace(std::move(r)); });
    REQUIRE(drive([&] { return out.has_value(); }, limit));
    return std::move(*out);
  }

  static void write(const fs::path& p, const std::string& text) { std::ofstream(p) << text; }

  static std::string read(const fs::path& p) {
    std::ifstream in(p);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }

 private:
  static fs::path make_root() {
    std::string tmpl = (fs::temp_directory_path() / "sbx-git-test-XXXXXX").string();
    REQUIRE(mkdtemp(tmpl.data()) != nullptr);
    return tmpl;
  }

  fs::path root_;
  config cfg_;
  boost::asio::io_context io_;
  boost::asio::thread_pool blocking_;
  process::reaper reaper_;
  std::optional<runtime> rt_;
  std::unique_ptr<session_manager> sessions_;
  std::unique_ptr<git_service> git_;
};

clone_request request(std::string url) {
  clone_request r;
  r.repo_url = std::move(url);
  return r;
}

}  // namespace

TEST_CASE("git_service clones a local repository into the workspace by default", "[git][clone]") {
  git_fixture fx;
  auto bare = fx.make_repo("alpha");
  auto r = fx.clone(request(bare.string()));
  REQUIRE(r.ok());
  CHECK(r->target_dir == fx.cfg().workspace + "/alpha");
  CHECK(r->branch == "main");
  CHECK(git_fixture::read(fs::path(r->target_dir) / "README.md") == "hello from alpha\n");
  CHECK(fx.reaper().live() <= 1);  // only the session's shell is left
}

TEST_CASE("git_service clones a branch over file:// into a relative target", "[git][clone]") {
  git_fixture fx;
  auto bare = fx.make_repo("beta");
  auto req = request("file://" + bare.string());
  req.branch = "feature";
  req.target_dir = "nested/dir";
  auto r = fx.clone(std::move(req));
  REQUIRE(r.ok());
  // Relative targets resolve against the session's directory (the workspace).
  CHECK(r->target_dir == fx.cfg().workspace + "/nested/dir");
  CHECK(r->branch == "feature");
  CHECK(fs::exists(fs::path(r->target_dir) / "feature.txt"));
}

TEST_CASE("git_service makes shallow clones, also from plain paths", "[git][clone]") {
  git_fixture fx;
  auto bare = fx.make_repo("gamma");
  auto req = request(bare.string());
  req.depth = 1;
  req.target_dir = (fx.root() / "shallow").string();
  auto r = fx.clone(std::move(req));
  REQUIRE(r.ok());
  // .git/shallow lists the cut-off commit only in shallow clones.
  CHECK(fs::exists(fx.root() / "shallow" / ".git" / "shallow"));
  auto full = fx.clone(request(bare.string()));
  REQUIRE(full.ok());
  CHECK_FALSE(fs::exists(fs::path(full->target_dir) / ".git" / "shallow"));
}

TEST_CASE("git_service reports a detached HEAD as the requested ref", "[git][clone]") {
  git_fixture fx;
  auto bare = fx.make_repo("delta");
  auto req = request(bare.string());
  req.branch = "v1";
  auto r = fx.clone(std::move(req));
  REQUIRE(r.ok());
  CHECK(r->branch == "v1");
  CHECK_FALSE(fs::exists(fs::path(r->target_dir) / "second.txt"));
}

TEST_CASE("git_service maps clone failures to registry codes", "[git][clone]") {
  git_fixture fx;
  auto bare = fx.make_repo("eps");

  auto missing = fx.clone(request((fx.root() / "nope.git").string()));
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error().code == "GIT_REPOSITORY_NOT_FOUND");
  CHECK(missing.error().message.rfind("Failed to clone repository '", 0) == 0);
  CHECK(missing.error().context["exitCode"] == 128);

  auto bad_branch = request(bare.string());
  bad_branch.branch = "no-such-branch";
  bad_branch.target_dir = (fx.root() / "bad-branch").string();
  auto b = fx.clone(std::move(bad_branch));
  REQUIRE_FALSE(b.ok());
  CHECK(b.error().code == "GIT_BRANCH_NOT_FOUND");
  CHECK(b.error().context["branch"] == "no-such-branch");
  CHECK_FALSE(fs::exists(fx.root() / "bad-branch"));  // git removes what it started

  auto first = request(bare.string());
  first.target_dir = (fx.root() / "twice").string();
  REQUIRE(fx.clone(first).ok());
  auto again = fx.clone(first);
  REQUIRE_FALSE(again.ok());
  CHECK(again.error().code == "FILE_EXISTS");
  CHECK(again.error().context["targetDir"] == (fx.root() / "twice").string());
}

TEST_CASE("git_service validates before running anything", "[git][clone]") {
  git_fixture fx;
  auto r = fx.clone(request("   "));
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code == "INVALID_GIT_URL");
  CHECK(r.error().message == "Invalid Git URL '   ': Git URL cannot be empty");
  CHECK(r.error().context["validationErrors"][0]["field"] == "repoUrl");

  auto secret = fx.clone(request("https://u:hunter2@example.com/" + std::string(2048, 'a')));
  REQUIRE_FALSE(secret.ok());
  CHECK(secret.error().message.find("hunter2") == std::string::npos);

  auto bad_dir = request("/srv/x.git");
  bad_dir.target_dir = std::string("/tmp/a") + '\0' + "b";
  auto d = fx.clone(std::move(bad_dir));
  REQUIRE_FALSE(d.ok());
  CHECK(d.error().code == "VALIDATION_FAILED");
  CHECK(d.error().context["validationErrors"][0]["field"] == "targetDirectory");

  auto shallow0 = request("/srv/x.git");
  shallow0.depth = 0;
  auto z = fx.clone(std::move(shallow0));
  REQUIRE_FALSE(z.ok());
  CHECK(z.error().code == "VALIDATION_FAILED");
  auto huge = request("/srv/x.git");
  huge.depth = std::int64_t{1} << 31;
  auto h = fx.clone(std::move(huge));
  REQUIRE_FALSE(h.ok());
  CHECK(h.error().code == "VALIDATION_FAILED");
}

TEST_CASE("git_service never hands the URL to a shell", "[git][clone]") {
  git_fixture fx;
  fs::path marker = fx.root() / "pwned";
  auto r = fx.clone(request("/tmp/x; touch " + marker.string()));
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code == "GIT_REPOSITORY_NOT_FOUND");
  CHECK_FALSE(fs::exists(marker));
  // Would be an option without "--" before the URL.
  auto opt = fx.clone(request("--upload-pack=touch " + marker.string()));
  REQUIRE_FALSE(opt.ok());
  CHECK_FALSE(fs::exists(marker));
  auto ext = fx.clone(request("ext::sh -c touch% " + marker.string()));
  REQUIRE_FALSE(ext.ok());
  CHECK_FALSE(fs::exists(marker));
}

TEST_CASE("git_service ends a clone that outlives the timeout", "[git][clone]") {
  git_fixture fx;
  fx.cfg().git_timeout_ms = 300;
  // A listener that never answers: git:// waits for the server forever.
  boost::asio::io_context silent;
  boost::asio::ip::tcp::acceptor acceptor(silent, {boost::asio::ip::make_address("127.0.0.1"), 0});
  auto port = acceptor.local_endpoint().port();
  auto started = std::chrono::steady_clock::now();
  auto req = request("git://127.0.0.1:" + std::to_string(port) + "/hang.git");
  req.target_dir = (fx.root() / "hang").string();
  auto r = fx.clone(std::move(req), std::chrono::seconds(20));
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code == "GIT_CLONE_FAILED");
  CHECK(r.error().message == "Failed to clone repository 'git://127.0.0.1:" + std::to_string(port) +
                                 "/hang.git': timed out after 300 ms");
  CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(10));
  CHECK(fx.drive([&] { return fx.reaper().live() <= 1; }, std::chrono::seconds(5)));
}

TEST_CASE("git_service shutdown kills a running clone", "[git][clone]") {
  git_fixture fx;
  boost::asio::io_context silent;
  boost::asio::ip::tcp::acceptor acceptor(silent, {boost::asio::ip::make_address("127.0.0.1"), 0});
  auto req =
      request("git://127.0.0.1:" + std::to_string(acceptor.local_endpoint().port()) + "/hang.git");
  req.session_id = "default";
  std::optional<result<clone_result>> out;
  auto live_before = fx.reaper().live();
  fx.git().clone(req, [&](result<clone_result> r) { out.emplace(std::move(r)); });
  // Wait until git itself is running, then shut the service down.
  REQUIRE(
      fx.drive([&] { return fx.reaper().live() >= live_before + 2; }, std::chrono::seconds(10)));
  fx.git().shutdown();
  REQUIRE(fx.drive([&] { return out.has_value(); }, std::chrono::seconds(10)));
  REQUIRE_FALSE(out->ok());
  CHECK(out->error().code == "GIT_CLONE_FAILED");
  // A clone after shutdown is refused without starting git.
  auto late = fx.clone(request("/srv/x.git"));
  REQUIRE_FALSE(late.ok());
  CHECK(late.error().message.find("shutting down") != std::string::npos);
}
