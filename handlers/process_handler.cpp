#include "handlers/process_handler.hpp"

#include <csignal>

#include "app/app.hpp"
#include "handlers/command_request.hpp"
#include "handlers/request_body.hpp"
#include "process/kill.hpp"
#include "process/log_stream.hpp"
#include "process/process_json.hpp"
#include "process/process_registry.hpp"
#include "server/sse.hpp"

namespace sbx::handlers {
namespace {

using process::process_info;

const std::string& id_param(const http::request& req) {
  return req.params.at(0);
}

// ?signal= wins over a JSON body {"signal": ...}; SIGTERM when neither is given.
result<int> requested_signal(const http::request& req) {
  auto bad = [] {
    return field_error("signal", "must be a signal name such as SIGTERM or KILL, or a number");
  };
  std::optional<std::string> text = req.query_param("signal");
  if (!text && req.body.find_first_not_of(" \t\r\n") != std::string::npos) {
    auto body = parse_body(req);
    if (!body) return body.error();
    if (auto it = body->find("signal"); it != body->end() && !it->is_null()) {
      if (it->is_number_integer())
        text = std::to_string(it->get<std::int64_t>());
      else if (it->is_string())
        text = it->get<std::string>();
      else
        return bad();
    }
  }
  if (!text) return SIGTERM;
  auto sig = process::parse_signal(*text);
  if (!sig) return bad();
  return *sig;
}

}  // namespace

void process_start(app& a, http::request req, http::responder done) {
  auto body = parse_body(req);
  if (!body) return done(body.error());
  // API.md §1.4: this route reads the session from the body only.
  auto parsed = read_command_request(*body, req, false);
  if (!parsed) return done(parsed.error());
  a.processes().start(to_start_request(std::move(*parsed)), [done](result<process_info> p) {
    if (!p) return done(p.error());
    done(http::response::json(process_started_body(*p)));
  });
}

void process_list(app& a, http::request req, http::responder done) {
  std::optional<process::process_status> filter;
  if (auto q = req.query_param("status"); q && !q->empty()) {
    filter = process::parse_status(*q);
    // An unknown status matches nothing.
    if (!filter)
      return done(http::response::json(success({{"processes", nlohmann::json::array()}})));
  }
  auto records = nlohmann::json::array();
  for (const auto& p : a.processes().list(filter)) records.push_back(process::record_json(p));
  done(http::response::json(success({{"processes", std::move(records)}})));
}

void process_kill_all(app& a, http::request, http::responder done) {
  // Walks /proc: kept off the I/O threads.
  a.run_blocking(done, [&a] {
    int count = a.processes().kill_all(SIGTERM);
    return http::response::json(success({{"cleanedCount", count}}));
  });
}

void process_get(app& a, http::request req, http::responder done) {
  auto p = a.processes().get(id_param(req));
  if (!p) return done(p.error());
  done(http::response::json(success({{"process", process::record_json(*p)}})));
}

void process_kill(app& a, http::request req, http::responder done) {
  auto sig = requested_signal(req);
  if (!sig) return done(sig.error());
  a.run_blocking(done, [&a, id = id_param(req), sig = *sig] {
    auto killed = a.processes().kill(id, sig);
    if (!killed) return http::response::error(killed.error());
    return http::response::json(success({{"processId", id}}));
  });
}

void process_logs(app& a, http::request req, http::responder done) {
  auto logs = a.processes().logs(id_param(req));
  if (!logs) return done(logs.error());
  done(http::response::json(success({{"processId", logs->id},
                                     {"stdout", std::move(logs->out)},
                                     {"stderr", std::move(logs->err)},
                                     {"stdoutTruncated", logs->out_truncated},
                                     {"stderrTruncated", logs->err_truncated}})));
}

void process_stream(app& a, http::request req, http::responder done) {
  auto rec = a.processes().find(id_param(req));
  if (!rec) return done(rec.error());
  auto channel = std::make_shared<http::sse_channel>();
  (*rec)->attach(
      std::make_shared<process::log_stream>(channel, process::log_stream::style::process_logs));
  done(http::response::sse(channel));
}

}  // namespace sbx::handlers
