#include "session/session_manager.hpp"

namespace sbx {

namespace session {
class shell_session {};
}  // namespace session

session_manager::session_manager(runtime& rt) : rt_(rt) {}
session_manager::~session_manager() = default;

result<std::string> session_manager::create(session_options opts) {
  return make_error(codes::not_implemented, "sessions are not implemented yet: " + opts.id);
}
std::vector<std::string> session_manager::list() const { return {}; }
status session_manager::remove(const std::string& id) {
  return make_error(codes::not_implemented, "sessions are not implemented yet: " + id);
}
void session_manager::execute(const std::string&, command_request, command_done done) {
  done(make_error(codes::not_implemented, "sessions are not implemented yet"));
}
void session_manager::context(const std::string& id, context_done done) {
  // Placeholder until shells exist: the daemon's environment and the workspace.
  session_context ctx;
  ctx.cwd = cwd_of(id);
  for (const auto& [k, v] : current_environment())
    if (k != "LANG" && k != "LC_ALL") ctx.env.push_back(k + "=" + v);
  ctx.env.push_back("LANG=C.UTF-8");
  ctx.env.push_back("LC_ALL=C.UTF-8");
  done(std::move(ctx));
}
std::string session_manager::cwd_of(const std::string&) const { return rt_.cfg.workspace; }
void session_manager::shutdown() {}

}  // namespace sbx
