#include "core/error.hpp"

#include <array>
#include <utility>

namespace sbx {
namespace {

struct status_row {
  std::string_view code;
  int status;
};

constexpr std::array k_status_table{
    status_row{codes::is_directory, 400},
    status_row{codes::not_directory, 400},
    status_row{codes::invalid_command, 400},
    status_row{codes::invalid_port_number, 400},
    status_row{codes::invalid_port, 400},
    status_row{codes::invalid_git_url, 400},
    status_row{codes::custom_domain_required, 400},
    status_row{codes::invalid_json_response, 400},
    status_row{codes::name_too_long, 400},
    status_row{codes::validation_failed, 400},
    status_row{codes::git_auth_failed, 401},
    status_row{codes::permission_denied, 403},
    status_row{codes::command_permission_denied, 403},
    status_row{codes::process_permission_denied, 403},
    status_row{codes::read_only, 403},
    status_row{codes::file_not_found, 404},
    status_row{codes::command_not_found, 404},
    status_row{codes::process_not_found, 404},
    status_row{codes::port_not_exposed, 404},
    status_row{codes::git_repository_not_found, 404},
    status_row{codes::git_branch_not_found, 404},
    status_row{codes::context_not_found, 404},
    status_row{codes::file_exists, 409},
    status_row{codes::port_already_exposed, 409},
    status_row{codes::port_in_use, 409},
    status_row{codes::resource_busy, 409},
    status_row{codes::service_not_responding, 502},
    status_row{codes::git_network_error, 502},
    status_row{codes::interpreter_not_ready, 503},
    status_row{codes::payload_too_large, 413},
    status_row{codes::request_header_too_large, 431},
    status_row{codes::not_implemented, 501},
};

std::string context_text(const nlohmann::json& context, const char* key) {
  auto it = context.find(key);
  if (it == context.end() || it->is_null()) return "undefined";
  if (it->is_string()) return it->get<std::string>();
  return it->dump();
}

}  // namespace

int status_for_code(std::string_view code) {
  for (const auto& row : k_status_table)
    if (row.code == code) return row.status;
  return 500;
}

std::optional<std::string> suggestion_for(std::string_view code, const nlohmann::json& ctx) {
  auto v = [&](const char* key) { return context_text(ctx, key); };
  if (code == codes::file_not_found)
    return "Ensure the file exists at " + v("path") + " before attempting to access it";
  if (code == codes::file_exists)
    return "File already exists at " + v("path") +
           ". Use a different path or delete the existing file first";
  if (code == codes::command_not_found)
    return "Check that \"" + v("command") + "\" is installed and available in the system PATH";
  if (code == codes::process_not_found)
    return "Verify the process ID is correct and the process has not already exited";
  if (code == codes::port_not_exposed)
    return "Port " + v("port") +
           " is not currently exposed. Use listExposedPorts() to see active ports";
  if (code == codes::port_already_exposed)
    return "Port " + v("port") + " is already exposed. Unexpose it first or use a different port";
  if (code == codes::port_in_use)
    return "Port " + v("port") + " is already in use by another service. Choose a different port";
  if (code == codes::invalid_port)
    return "Port must be between 1 and 65535. Port " + v("port") + " is " + v("reason");
  if (code == codes::git_repository_not_found)
    return "Verify the repository URL is correct and accessible";
  if (code == codes::git_auth_failed)
    return "Check authentication credentials or use a public repository";
  if (code == codes::git_branch_not_found)
    return "Branch \"" + v("branch") +
           "\" does not exist in the repository. Check the branch name or use the default branch";
  if (code == codes::interpreter_not_ready) {
    if (ctx.contains("retryAfter"))
      return "Code interpreter is starting up. Retry after " + v("retryAfter") + " seconds";
    return "Code interpreter is not ready. Please wait a moment and try again";
  }
  if (code == codes::context_not_found)
    return "Context \"" + v("contextId") +
           "\" does not exist. Create a context first using createContext()";
  if (code == codes::validation_failed)
    return "Check the request parameters and ensure they match the required format";
  if (code == codes::no_space)
    return "Not enough disk space available. Consider cleaning up temporary files or increasing "
           "storage";
  if (code == codes::permission_denied)
    return "Operation not permitted. Check file/directory permissions";
  if (code == codes::is_directory)
    return "Cannot perform this operation on a directory. Path " + v("path") + " is a directory";
  if (code == codes::not_directory) return "Expected a directory but found a file at " + v("path");
  if (code == codes::resource_busy)
    return "Resource is currently in use. Wait for the current operation to complete";
  if (code == codes::read_only) return "Cannot modify a read-only resource";
  if (code == codes::service_not_responding)
    return "Service is not responding. Check if the service is running and accessible";
  return std::nullopt;
}

api_error make_error(std::string_view code, std::string message, nlohmann::json context) {
  api_error e;
  e.code = std::string(code);
  e.message = std::move(message);
  e.context = context.is_object() ? std::move(context) : nlohmann::json::object();
  return e;
}

api_error field_error(std::string_view field, std::string problem) {
  std::string message = "Invalid request field '" + std::string(field) + "': " + problem;
  return make_error(codes::validation_failed, std::move(message),
                    {{"validationErrors",
                      nlohmann::json::array(
                          {{{"field", field}, {"message", problem}, {"code", "INVALID_FIELD"}}})}});
}

}  // namespace sbx
