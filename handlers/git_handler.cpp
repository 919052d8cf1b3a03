#include "handlers/git_handler.hpp"

#include "app/app.hpp"
#include "git/git_service.hpp"
#include "handlers/request_body.hpp"

namespace sbx::handlers {

void git_checkout(app& a, http::request req, http::responder done) {
  auto body = parse_body(req);
  if (!body) return done(body.error());
  fields f(*body);

  clone_request clone;
  // A missing or non-string URL is the contract's INVALID_GIT_URL, not a field error.
  if (const auto* url = f.raw("repoUrl"); url && url->is_string())
    clone.repo_url = url->get<std::string>();
  clone.branch = f.str("branch");
  clone.target_dir = f.str("targetDir");
  clone.depth = f.integer("depth");
  auto body_session = f.str("sessionId");
  if (!f.ok()) return done(f.error());
  clone.session_id = resolve_session_id(req, body_session, /*use_request_context=*/true);

  // The success body echoes repoUrl as sent (API.md §9).
  std::string repo_url = clone.repo_url.value_or("");
  a.git().clone(std::move(clone), [done, repo_url = std::move(repo_url)](result<clone_result> r) {
    if (!r) return done(r.error());
    done(http::response::json(
        success({{"repoUrl", repo_url}, {"branch", r->branch}, {"targetDir", r->target_dir}})));
  });
}

}  // namespace sbx::handlers
