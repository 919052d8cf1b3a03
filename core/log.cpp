#include "core/log.hpp"

#include <atomic>
#include <memory>

#include <spdlog/async.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include "core/clock.hpp"

namespace sbx::log {
namespace {

std::atomic<int> g_min_level{static_cast<int>(level::info)};
std::atomic<bool> g_json{true};
std::shared_ptr<spdlog::logger> g_logger;

const char* level_name(level l) {
  switch (l) {
    case level::debug:
      return "debug";
    case level::info:
      return "info";
    case level::warn:
      return "warn";
    case level::error:
      return "error";
  }
  return "info";
}

spdlog::level::level_enum to_spdlog(level l) {
  switch (l) {
    case level::debug:
      return spdlog::level::debug;
    case level::info:
      return spdlog::level::info;
    case level::warn:
      return spdlog::level::warn;
    case level::error:
      return spdlog::level::err;
  }
  return spdlog::level::info;
}

}  // namespace

void init(std::string_view name, std::string_view format) {
  level l = level::info;
  if (name == "debug") l = level::debug;
  if (name == "warn") l = level::warn;
  if (name == "error") l = level::error;
  g_min_level = static_cast<int>(l);
  g_json = format != "pretty";
  // Async with a bounded queue that drops the oldest lines: a blocked stdout
  // must never stall an I/O thread. Every slot is allocated and touched up
  // front (~400 bytes each), so the queue is kept small: 1024 slots are
  // ~0.4 MiB of resident memory, where 8192 were over 3 MiB.
  spdlog::init_thread_pool(1024, 1);
  auto sink = std::make_shared<spdlog::sinks::stdout_sink_mt>();
  g_logger = std::make_shared<spdlog::async_logger>("sandboxd", sink, spdlog::thread_pool(),
                                                    spdlog::async_overflow_policy::overrun_oldest);
  g_logger->set_pattern("%v");
  g_logger->set_level(spdlog::level::trace);
  g_logger->flush_on(spdlog::level::trace);
}

bool enabled(level l) {
  return static_cast<int>(l) >= g_min_level.load();
}

void write(level l, std::string_view msg, const nlohmann::json& fields) {
  if (!enabled(l)) return;
  std::string line;
  if (g_json) {
    nlohmann::json obj = {{"time", iso_now()}, {"level", level_name(l)}, {"msg", msg}};
    if (fields.is_object())
      for (auto it = fields.begin(); it != fields.end(); ++it) obj[it.key()] = it.value();
    line = obj.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  } else {
    line = iso_now() + " " + level_name(l) + " " + std::string(msg);
    if (fields.is_object())
      for (auto it = fields.begin(); it != fields.end(); ++it) {
        line += " " + it.key() + "=";
        line += it->is_string()
                    ? it->get<std::string>()
                    : it->dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
      }
  }
  if (g_logger) {
    g_logger->log(to_spdlog(l), line);
  } else {
    std::fwrite(line.data(), 1, line.size(), stderr);
    std::fputc('\n', stderr);
  }
}

void flush() {
  if (!g_logger) return;
  g_logger.reset();
  spdlog::shutdown();  // joins the async thread after it drained the queue
}

}  // namespace sbx::log
