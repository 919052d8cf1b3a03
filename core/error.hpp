#pragma once
// Errors as data: every failure the API reports is an api_error carrying a
// contract code (API.md §2.2-2.3). The HTTP status comes from one table, the
// body from one renderer (server/render.cpp); nothing else builds error bodies.
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace sbx {

namespace codes {
// 400
inline constexpr std::string_view is_directory = "IS_DIRECTORY";
inline constexpr std::string_view not_directory = "NOT_DIRECTORY";
inline constexpr std::string_view invalid_command = "INVALID_COMMAND";
inline constexpr std::string_view invalid_port_number = "INVALID_PORT_NUMBER";
inline constexpr std::string_view invalid_port = "INVALID_PORT";
inline constexpr std::string_view invalid_git_url = "INVALID_GIT_URL";
inline constexpr std::string_view custom_domain_required = "CUSTOM_DOMAIN_REQUIRED";
inline constexpr std::string_view invalid_json_response = "INVALID_JSON_RESPONSE";
inline constexpr std::string_view name_too_long = "NAME_TOO_LONG";
inline constexpr std::string_view validation_failed = "VALIDATION_FAILED";
// 401
inline constexpr std::string_view git_auth_failed = "GIT_AUTH_FAILED";
// 403
inline constexpr std::string_view permission_denied = "PERMISSION_DENIED";
inline constexpr std::string_view command_permission_denied = "COMMAND_PERMISSION_DENIED";
inline constexpr std::string_view process_permission_denied = "PROCESS_PERMISSION_DENIED";
inline constexpr std::string_view read_only = "READ_ONLY";
// 404
inline constexpr std::string_view file_not_found = "FILE_NOT_FOUND";
inline constexpr std::string_view command_not_found = "COMMAND_NOT_FOUND";
inline constexpr std::string_view process_not_found = "PROCESS_NOT_FOUND";
inline constexpr std::string_view port_not_exposed = "PORT_NOT_EXPOSED";
inline constexpr std::string_view git_repository_not_found = "GIT_REPOSITORY_NOT_FOUND";
inline constexpr std::string_view git_branch_not_found = "GIT_BRANCH_NOT_FOUND";
inline constexpr std::string_view context_not_found = "CONTEXT_NOT_FOUND";
// 409
inline constexpr std::string_view file_exists = "FILE_EXISTS";
inline constexpr std::string_view port_already_exposed = "PORT_ALREADY_EXPOSED";
inline constexpr std::string_view port_in_use = "PORT_IN_USE";
inline constexpr std::string_view resource_busy = "RESOURCE_BUSY";
// 502
inline constexpr std::string_view service_not_responding = "SERVICE_NOT_RESPONDING";
inline constexpr std::string_view git_network_error = "GIT_NETWORK_ERROR";
// 503
inline constexpr std::string_view interpreter_not_ready = "INTERPRETER_NOT_READY";
// 500
inline constexpr std::string_view no_space = "NO_SPACE";
inline constexpr std::string_view too_many_files = "TOO_MANY_FILES";
inline constexpr std::string_view too_many_links = "TOO_MANY_LINKS";
inline constexpr std::string_view filesystem_error = "FILESYSTEM_ERROR";
inline constexpr std::string_view command_execution_error = "COMMAND_EXECUTION_ERROR";
inline constexpr std::string_view stream_start_error = "STREAM_START_ERROR";
inline constexpr std::string_view process_error = "PROCESS_ERROR";
inline constexpr std::string_view port_operation_error = "PORT_OPERATION_ERROR";
inline constexpr std::string_view git_clone_failed = "GIT_CLONE_FAILED";
inline constexpr std::string_view git_checkout_failed = "GIT_CHECKOUT_FAILED";
inline constexpr std::string_view git_operation_failed = "GIT_OPERATION_FAILED";
inline constexpr std::string_view code_execution_error = "CODE_EXECUTION_ERROR";
inline constexpr std::string_view unknown_error = "UNKNOWN_ERROR";
inline constexpr std::string_view internal_error = "INTERNAL_ERROR";
// Transport-level codes beyond the registry (sandboxd only).
inline constexpr std::string_view payload_too_large = "PAYLOAD_TOO_LARGE";
inline constexpr std::string_view request_header_too_large = "REQUEST_HEADER_TOO_LARGE";
inline constexpr std::string_view not_implemented = "NOT_IMPLEMENTED";
}  // namespace codes

// HTTP status for a code (API.md §2.2); unknown codes map to 500.
int status_for_code(std::string_view code);

// The contract's suggestion text for a code (§2.5), filled from context, or
// nothing for codes without one.
std::optional<std::string> suggestion_for(std::string_view code, const nlohmann::json& context);

struct api_error {
  std::string code;
  std::string message;
  nlohmann::json context = nlohmann::json::object();
  // Overrides the table status where the contract pins another one (e.g. 413).
  int status = 0;
  // Extra top-level fields merged into the body (legacy shapes, §2.4).
  nlohmann::json extra = nlohmann::json::object();

  int http_status() const { return status != 0 ? status : status_for_code(code); }
};

api_error make_error(std::string_view code, std::string message,
                     nlohmann::json context = nlohmann::json::object());

// A 400 VALIDATION_FAILED naming the offending request field.
api_error field_error(std::string_view field, std::string problem);

}  // namespace sbx
