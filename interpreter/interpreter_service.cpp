#include "interpreter/interpreter_service.hpp"

namespace sbx {

interpreter_service::interpreter_service(runtime& rt) : rt_(rt) {}
interpreter_service::~interpreter_service() = default;

void interpreter_service::shutdown() {}

}  // namespace sbx
