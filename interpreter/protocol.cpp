#include "interpreter/protocol.hpp"

#include <algorithm>
#include <array>
#include <utility>

#include "core/json_text.hpp"
#include "server/http_types.hpp"

namespace sbx::interp {
namespace {

using nlohmann::json;

// The line buffer's capacity kept between reads; a larger one (grown by a
// big event) is released once consumed.
constexpr std::size_t k_kept_capacity = 256 * 1024;

std::string line_of(const json& j) {
  std::string s = http::dump_json(j);
  s += '\n';
  return s;
}

// MIME type -> the key the SDK's ResultImpl reads.
constexpr std::array<std::pair<std::string_view, std::string_view>, 9> k_format_keys{{
    {"text/plain", "text"},
    {"text/html", "html"},
    {"image/png", "png"},
    {"image/jpeg", "jpeg"},
    {"image/svg+xml", "svg"},
    {"text/latex", "latex"},
    {"text/markdown", "markdown"},
    {"application/javascript", "javascript"},
    {"application/json", "json"},
}};

std::string string_field(const json& obj, const char* name, std::string fallback) {
  auto it = obj.find(name);
  if (it != obj.end() && it->is_string() && !it->get_ref<const std::string&>().empty())
    return it->get<std::string>();
  return fallback;
}

}  // namespace

std::string execute_command(std::string_view id, std::string_view code) {
  return line_of({{"type", "execute"}, {"id", id}, {"code", code}});
}

std::string configure_command(std::string_view cwd, const std::map<std::string, std::string>& env) {
  return line_of({{"type", "configure"}, {"cwd", cwd}, {"env", env}});
}

std::string shutdown_command() {
  return line_of({{"type", "shutdown"}});
}

std::optional<json> parse_event_line(std::string_view line) {
  while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.remove_suffix(1);
  if (line.empty()) return std::nullopt;
  json j = parse_json_lenient(line);
  if (j.is_discarded() || !j.is_object()) return std::nullopt;
  auto type = j.find("type");
  if (type == j.end() || !type->is_string()) return std::nullopt;
  return j;
}

std::string output_frame(bool is_stderr, std::string_view text) {
  // Keys in the order nlohmann writes them (sorted): text, type.
  std::string frame;
  frame.reserve(text.size() + text.size() / 8 + 48);
  frame += R"(data: {"text":)";
  append_json_string(frame, text);
  frame += is_stderr ? R"(,"type":"stderr"})" : R"(,"type":"stdout"})";
  frame += "\n\n";
  return frame;
}

std::optional<json> result_event(json data, json metadata) {
  if (!data.is_object()) return std::nullopt;
  json event = {{"type", "result"}};
  bool any = false;
  for (auto [mime, key] : k_format_keys) {
    auto it = data.find(mime);
    if (it == data.end() || it->is_null()) continue;
    // json carries a JSON value; every other format is text.
    if (key == "json" || it->is_string())
      event[std::string(key)] = std::move(*it);
    else
      event[std::string(key)] = it->dump();
    any = true;
  }
  if (!any) return std::nullopt;
  event["metadata"] = metadata.is_object() ? std::move(metadata) : json::object();
  return event;
}

json error_event(std::string ename, std::string evalue, std::vector<std::string> traceback) {
  return {{"type", "error"},
          {"ename", std::move(ename)},
          {"evalue", std::move(evalue)},
          {"traceback", std::move(traceback)}};
}

json error_event_from(const json& e) {
  std::vector<std::string> traceback;
  if (auto tb = e.find("traceback"); tb != e.end() && tb->is_array())
    for (const auto& line : *tb)
      if (line.is_string()) traceback.push_back(line.get<std::string>());
  std::string evalue;
  if (auto v = e.find("evalue"); v != e.end() && v->is_string()) evalue = v->get<std::string>();
  return error_event(string_field(e, "ename", "Error"), std::move(evalue), std::move(traceback));
}

json complete_event(std::int64_t execution_count) {
  return {{"type", "execution_complete"}, {"execution_count", execution_count}};
}

std::size_t complete_utf8_prefix(std::string_view bytes) {
  // Look back at most 3 bytes for the lead byte of an unfinished sequence.
  std::size_t n = bytes.size();
  for (std::size_t back = 1; back <= 3 && back <= n; ++back) {
    auto c = static_cast<unsigned char>(bytes[n - back]);
    if ((c & 0xC0) == 0x80) continue;  // continuation byte: keep looking
    std::size_t need = (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 1;
    return need > back ? n - back : n;
  }
  return n;
}

void line_splitter::append(std::string_view bytes) {
  if (discarding_) {
    auto nl = bytes.find('\n');
    if (nl == std::string_view::npos) return;
    bytes.remove_prefix(nl + 1);
    discarding_ = false;
  }
  if (start_ > 0) {  // what was returned goes; the unfinished rest moves up
    buffer_.erase(0, start_);
    scan_from_ -= start_;
    tail_start_ -= start_;
    start_ = 0;
  }
  if (auto nl = bytes.rfind('\n'); nl != std::string_view::npos)
    tail_start_ = buffer_.size() + nl + 1;
  buffer_.append(bytes);
  // The unfinished last line alone may not exceed the limit.
  if (buffer_.size() - tail_start_ > max_line_) {
    buffer_.erase(tail_start_);
    scan_from_ = std::min(scan_from_, buffer_.size());
    discarding_ = true;
    ++dropped_;
  }
}

std::optional<std::string_view> line_splitter::next() {
  for (;;) {
    auto nl = buffer_.find('\n', scan_from_);
    if (nl == std::string::npos) {
      if (start_ == buffer_.size()) {
        // All consumed: keep a small buffer for the next read, not a big one.
        if (buffer_.capacity() > k_kept_capacity) std::string().swap(buffer_);
        buffer_.clear();
        start_ = tail_start_ = 0;
      }
      scan_from_ = buffer_.size();
      return std::nullopt;
    }
    std::string_view line(buffer_.data() + start_, nl - start_);
    returned_ = start_;
    start_ = scan_from_ = nl + 1;
    if (line.size() <= max_line_) return line;
    ++dropped_;
  }
}

std::string line_splitter::take_returned() {
  std::size_t end = start_ - 1;  // its '\n'
  if (returned_ != 0 || buffer_.size() - start_ > end)
    return buffer_.substr(returned_, end - returned_);
  // The bytes after it stay; the buffer goes with the line.
  std::string rest = buffer_.substr(start_);
  std::string line = std::move(buffer_);
  line.resize(end);
  buffer_ = std::move(rest);
  tail_start_ -= start_;
  scan_from_ -= start_;
  start_ = 0;
  return line;
}

}  // namespace sbx::interp
