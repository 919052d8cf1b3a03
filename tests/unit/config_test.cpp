#include <catch2/catch.hpp>

#include "core/config.hpp"

using sbx::config_outcome;
using sbx::parse_config;

TEST_CASE("defaults follow the contract") {
  auto out = parse_config({}, {});
  REQUIRE(out.what == config_outcome::kind::run);
  CHECK(out.cfg.port == 3000);
  CHECK(out.cfg.bind == "0.0.0.0");
  CHECK(out.cfg.sandbox_version == "unknown");
  CHECK(out.cfg.max_output_bytes == 10 * 1024 * 1024);
  CHECK(out.cfg.max_body_bytes == 128 * 1024 * 1024);
  CHECK(out.cfg.command_timeout_ms == 0);
  CHECK(out.cfg.python_pool.min_size == 3);
  CHECK(out.cfg.python_pool.max_size == 15);
  CHECK(out.cfg.log_format == "json");
}

TEST_CASE("environment and flags, flags win") {
  auto out =
      parse_config({"--port", "4000", "--bind=127.0.0.1"}, {{"PORT", "5000"},
                                                            {"BIND", "::1"},
                                                            {"SANDBOX_VERSION", "0.4.13"},
                                                            {"COMMAND_TIMEOUT_MS", "2500"},
                                                            {"PYTHON_POOL_MIN_SIZE", "0"},
                                                            {"SANDBOX_LOG_FORMAT", "pretty"}});
  REQUIRE(out.what == config_outcome::kind::run);
  CHECK(out.cfg.port == 4000);
  CHECK(out.cfg.bind == "127.0.0.1");
  CHECK(out.cfg.sandbox_version == "0.4.13");
  CHECK(out.cfg.command_timeout_ms == 2500);
  CHECK(out.cfg.python_pool.min_size == 0);
  CHECK(out.cfg.log_format == "pretty");
}

TEST_CASE("malformed values are errors, never silent defaults") {
  for (auto [name, value] :
       std::vector<std::pair<std::string, std::string>>{{"PORT", "abc"},
                                                        {"PORT", "70000"},
                                                        {"COMMAND_TIMEOUT_MS", "-1"},
                                                        {"MAX_OUTPUT_SIZE_BYTES", "10MB"},
                                                        {"SANDBOX_LOG_LEVEL", "verbose"},
                                                        {"SANDBOX_LOG_FORMAT", "xml"},
                                                        {"PYTHON_POOL_MAX_SIZE", "0"}}) {
    auto out = parse_config({}, {{name, value}});
    INFO(name << "=" << value);
    CHECK(out.what == config_outcome::kind::error);
    CHECK(out.message.find(name) != std::string::npos);
  }
  auto pools =
      parse_config({}, {{"JAVASCRIPT_POOL_MIN_SIZE", "5"}, {"JAVASCRIPT_POOL_MAX_SIZE", "2"}});
  CHECK(pools.what == config_outcome::kind::error);
  CHECK(parse_config({"--port"}, {}).what == config_outcome::kind::error);
  CHECK(parse_config({"--nope"}, {}).what == config_outcome::kind::error);
}

TEST_CASE("help and version") {
  CHECK(parse_config({"--help"}, {}).what == config_outcome::kind::help);
  auto v = parse_config({"--version"}, {});
  CHECK(v.what == config_outcome::kind::version);
  CHECK(v.message.find("sandboxd") == 0);
}
