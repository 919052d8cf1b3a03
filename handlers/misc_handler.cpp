#include "handlers/misc_handler.hpp"

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <set>

#include "app/app.hpp"
#include "core/clock.hpp"
#include "handlers/request_body.hpp"

namespace sbx::handlers {
namespace {

// Executable names on PATH, sorted and de-duplicated.
std::vector<std::string> commands_on_path() {
  std::set<std::string> names;
  const char* path = std::getenv("PATH");
  std::string_view rest = path ? path : "/usr/local/bin:/usr/bin:/bin";
  while (!rest.empty()) {
    auto colon = rest.find(':');
    std::string dir(rest.substr(0, colon));
    rest = colon == std::string_view::npos ? std::string_view{} : rest.substr(colon + 1);
    if (dir.empty()) continue;
    DIR* d = opendir(dir.c_str());
    if (!d) continue;
    while (dirent* e = readdir(d)) {
      if (e->d_name[0] == '.') continue;
      std::string full = dir + "/" + e->d_name;
      struct stat st;
      if (stat(full.c_str(), &st) == 0 && S_ISREG(st.st_mode) && access(full.c_str(), X_OK) == 0)
        names.insert(e->d_name);
    }
    closedir(d);
  }
  return {names.begin(), names.end()};
}

}  // namespace

void root(app&, http::request, http::responder done) {
  done(
      http::response::text("Hello from Bun server! \xF0\x9F\x9A\x80", "text/plain; charset=utf-8"));
}

void ping(app&, http::request, http::responder done) {
  // The health check clients poll: the body success() would build, written
  // directly (keys in the same order).
  done(http::response::text(
      R"({"message":"pong","status":"healthy","success":true,"timestamp":")" + iso_now() + "\"}",
      "application/json"));
}

void version(app& a, http::request, http::responder done) {
  done(http::response::json(success({{"version", a.cfg().sandbox_version}})));
}

void commands(app& a, http::request, http::responder done) {
  a.run_blocking(std::move(done), [] {
    auto names = commands_on_path();
    return http::response::json(success({{"availableCommands", names}, {"count", names.size()}}));
  });
}

}  // namespace sbx::handlers
