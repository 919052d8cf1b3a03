#include "handlers/interpreter_handler.hpp"

#include "app/app.hpp"
#include "handlers/request_body.hpp"
#include "interpreter/interpreter_service.hpp"

namespace sbx::handlers {
namespace {

// Seconds a client should wait before retrying a 503 (API.md §2.4).
constexpr const char* k_retry_after_seconds = "5";

http::response error_response(const api_error& e) {
  auto r = http::response::error(e);
  if (e.code == codes::interpreter_not_ready)
    r.headers.emplace_back("Retry-After", k_retry_after_seconds);
  return r;
}

// An absent language is the default; an unknown one is an error, never a
// silent fallback to Python.
std::optional<interp::language> read_language(fields& f, bool& bad) {
  auto name = f.str("language");
  if (!name) return std::nullopt;
  auto lang = interp::parse_language(*name);
  if (!lang) {
    bad = true;
    return std::nullopt;
  }
  return lang;
}

api_error unknown_language(const std::string& body_language) {
  return field_error("language", "unsupported language '" + body_language +
                                     "'; use python, javascript or typescript (aliases: python3, "
                                     "js, node, ts)");
}

}  // namespace

void interpreter_health(app& a, http::request, http::responder done) {
  a.interpreter().pool_stats([done](std::vector<interpreter_pool_stats> stats) {
    nlohmann::json pools = nlohmann::json::object();
    for (const auto& s : stats)
      pools[std::string(interp::language_name(s.lang))] = {{"live", s.live}, {"idle", s.idle}};
    done(http::response::json(success({{"status", "healthy"}, {"pools", pools}})));
  });
}

void context_create(app& a, http::request req, http::responder done) {
  auto body = parse_body(req);
  if (!body) return done(body.error());
  fields f(*body);
  bool bad_language = false;
  code_context_options opts;
  opts.lang = read_language(f, bad_language).value_or(interp::language::python);
  opts.cwd = f.str("cwd").value_or("");
  auto env = f.raw("env_vars") ? f.string_map("env_vars") : f.string_map("envVars");
  if (!f.ok()) return done(f.error());
  if (bad_language) return done(unknown_language((*body)["language"].get<std::string>()));
  if (env) opts.env = std::move(*env);
  a.interpreter().create_context(std::move(opts), [done](result<code_context_info> r) {
    if (!r) return done(error_response(r.error()));
    done(http::response::json(success(
        {{"contextId", r->id}, {"language", interp::language_name(r->lang)}, {"cwd", r->cwd}})));
  });
}

void context_list(app& a, http::request, http::responder done) {
  a.interpreter().list_contexts([done](std::vector<code_context_info> contexts) {
    auto list = nlohmann::json::array();
    for (const auto& c : contexts)
      list.push_back({{"id", c.id}, {"language", interp::language_name(c.lang)}, {"cwd", c.cwd}});
    done(http::response::json(success({{"contexts", std::move(list)}})));
  });
}

void context_delete(app& a, http::request req, http::responder done) {
  std::string id = req.params.empty() ? std::string() : req.params[0];
  a.interpreter().delete_context(id, [done, id](status st) {
    if (!st) return done(st.error());
    done(http::response::json(success({{"contextId", id}})));
  });
}

void execute_code(app& a, http::request req, http::responder done) {
  auto body = parse_body(req);
  if (!body) return done(body.error());
  fields f(*body);
  bool bad_language = false;
  code_run_request run;
  run.context_id = f.required_str("context_id");
  run.code = f.required_str("code");
  run.lang = read_language(f, bad_language);
  auto timeout = f.milliseconds("timeout_ms");
  if (!f.ok()) return done(f.error());
  if (bad_language) return done(unknown_language((*body)["language"].get<std::string>()));
  run.timeout_ms = timeout.value_or(0);
  a.interpreter().execute(std::move(run), [done](result<std::shared_ptr<http::sse_channel>> r) {
    if (!r) return done(r.error());
    done(http::response::sse(std::move(*r)));
  });
}

}  // namespace sbx::handlers
