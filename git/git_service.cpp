#include "git/git_service.hpp"

namespace sbx {

git_service::git_service(runtime& rt, session_manager& sessions) : rt_(rt), sessions_(sessions) {}
git_service::~git_service() = default;

void git_service::shutdown() {}

}  // namespace sbx
