#include "files/file_service.hpp"

namespace sbx {

file_service::file_service(runtime& rt, session_manager& sessions) : rt_(rt), sessions_(sessions) {}
file_service::~file_service() = default;

void file_service::shutdown() {}

}  // namespace sbx
