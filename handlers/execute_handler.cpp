#include "handlers/execute_handler.hpp"

#include <chrono>

#include "app/app.hpp"
#include "core/clock.hpp"
#include "core/json_text.hpp"
#include "handlers/command_request.hpp"
#include "handlers/request_body.hpp"
#include "session/session_manager.hpp"

namespace sbx::handlers {
namespace {

// Foreground output shape (API.md §5.2): one trailing newline removed, NULs
// dropped (invalid UTF-8 is replaced when the JSON is written).
std::string shape_output(std::string s) {
  std::erase(s, '\0');
  if (!s.empty() && s.back() == '\n') s.pop_back();
  return s;
}

// The response body (API.md §5.2), written directly: the output can be
// megabytes, and the generic serialiser escapes a byte at a time. Members in
// the same (sorted) order as every other response.
std::string result_body(const std::string& command, std::int64_t ms, const command_result& r,
                        const std::string* session_id) {
  std::string out = "{\"command\":";
  out.reserve(r.out.size() + r.err.size() + command.size() + 192);
  append_json_string(out, command);
  out += ",\"duration\":" + std::to_string(ms) + ",\"exitCode\":" + std::to_string(r.exit_code);
  if (session_id) {
    out += ",\"sessionId\":";
    append_json_string(out, *session_id);
  }
  out += ",\"stderr\":";
  append_json_string(out, r.err);
  out += ",\"stdout\":";
  append_json_string(out, r.out);
  out += r.exit_code == 0 ? ",\"success\":true" : ",\"success\":false";
  out += ",\"timestamp\":\"" + iso_now() + "\"}";
  return out;
}

// Past this much output the body is written on the blocking pool, so that one
// large answer does not hold up the requests behind it on the I/O thread.
constexpr std::size_t k_inline_body_max = 256 * 1024;

}  // namespace

void execute(app& a, http::request req, http::responder done) {
  auto body = parse_body(req);
  if (!body) return done(body.error());
  auto parsed = read_command_request(*body, req);
  if (!parsed) return done(parsed.error());
  auto& cmd = *parsed;

  if (cmd.background) return execute_background(a, std::move(cmd), std::move(done));

  auto started = std::chrono::steady_clock::now();
  command_request run{cmd.command, cmd.cwd, cmd.env, cmd.timeout_ms};
  a.sessions().execute(
      cmd.session_id, std::move(run),
      [&a, done, command = cmd.command, session_id = cmd.session_id, named = cmd.session_named,
       started](result<command_result> r) mutable {
        if (!r) return done(r.error());
        auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::steady_clock::now() - started)
                      .count();
        bool inline_body = r->out.size() + r->err.size() <= k_inline_body_max;
        auto respond = [command = std::move(command), session_id = std::move(session_id), named, ms,
                        r = std::move(*r)]() mutable {
          r.out = shape_output(std::move(r.out));
          r.err = shape_output(std::move(r.err));
          return http::response::text(result_body(command, ms, r, named ? &session_id : nullptr),
                                      "application/json");
        };
        if (inline_body) return done(respond());
        a.run_blocking(std::move(done), std::move(respond));
      });
}

}  // namespace sbx::handlers
