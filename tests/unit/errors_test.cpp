#include <catch2/catch.hpp>

#include "core/error.hpp"
#include "server/render.hpp"

using namespace sbx;

TEST_CASE("status map follows the contract table") {
  CHECK(status_for_code(codes::file_not_found) == 404);
  CHECK(status_for_code(codes::validation_failed) == 400);
  CHECK(status_for_code(codes::git_auth_failed) == 401);
  CHECK(status_for_code(codes::permission_denied) == 403);
  CHECK(status_for_code(codes::port_already_exposed) == 409);
  CHECK(status_for_code(codes::service_not_responding) == 502);
  CHECK(status_for_code(codes::interpreter_not_ready) == 503);
  CHECK(status_for_code(codes::filesystem_error) == 500);
  CHECK(status_for_code("SOMETHING_ELSE") == 500);
}

TEST_CASE("rendered error body has every contract field") {
  auto e = make_error(codes::file_not_found, "File not found: /x",
                      {{"path", "/x"}, {"operation", "file.read"}});
  auto body = http::render_error(e);
  CHECK(body["code"] == "FILE_NOT_FOUND");
  CHECK(body["message"] == "File not found: /x");
  CHECK(body["context"]["path"] == "/x");
  CHECK(body["operation"] == "file.read");
  CHECK(body["httpStatus"] == 404);
  CHECK(body["timestamp"].get<std::string>().size() == 24);
  CHECK(body["suggestion"] == "Ensure the file exists at /x before attempting to access it");
}

TEST_CASE("status override and extra fields") {
  auto e = make_error(codes::context_not_found, "Context c1 not found", {{"contextId", "c1"}});
  e.extra = {{"error", "Context c1 not found"}};
  auto body = http::render_error(e);
  CHECK(body["httpStatus"] == 404);
  CHECK(body["error"] == "Context c1 not found");
  auto big = make_error(codes::payload_too_large, "too big");
  CHECK(big.http_status() == 413);
  auto custom = make_error(codes::unknown_error, "nope");
  custom.status = 404;
  CHECK(http::render_error(custom)["httpStatus"] == 404);
  CHECK_FALSE(http::render_error(custom).contains("suggestion"));
}

TEST_CASE("field_error names the field") {
  auto e = field_error("command", "must be a string");
  CHECK(e.code == "VALIDATION_FAILED");
  CHECK(e.http_status() == 400);
  CHECK(e.message.find("command") != std::string::npos);
  CHECK(e.context["validationErrors"][0]["field"] == "command");
}
