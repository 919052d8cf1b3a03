#include "files/file_json.hpp"

#include "core/clock.hpp"
#include "core/json_text.hpp"
#include "core/large_buffer.hpp"
#include "files/codec.hpp"

namespace sbx::files {
namespace {

void bool_append(std::string& out, bool v) {
  out += v ? "true" : "false";
}

void entry_append(std::string& out, const file_entry& e) {
  out += "{\"name\":";
  append_json_string(out, e.name);
  out += ",\"absolutePath\":";
  append_json_string(out, e.absolute_path);
  out += ",\"relativePath\":";
  append_json_string(out, e.relative_path);
  out += ",\"type\":\"";
  out += e.type;
  out += "\",\"size\":";
  out += std::to_string(e.size);
  out += ",\"modifiedAt\":\"";
  out += e.modified_at;
  out += "\",\"mode\":\"";
  out += mode_string(e.mode);
  out += "\",\"permissions\":{\"readable\":";
  bool_append(out, e.mode & 0400);
  out += ",\"writable\":";
  bool_append(out, e.mode & 0200);
  out += ",\"executable\":";
  bool_append(out, e.mode & 0100);
  out += "}}";
}

}  // namespace

std::string read_body(const std::string& path, const file_content& c) {
  std::string out;
  reserve_large(out, c.content.size() + c.content.size() / 16 + path.size() + 256);
  out += "{\"success\":true,\"path\":";
  append_json_string(out, path);
  out += ",\"content\":";
  append_json_string_utf8(out, c.content);  // checked when read (else base64)
  out += ",\"timestamp\":\"";
  out += iso_now();
  out += "\",\"encoding\":\"";
  out += c.encoding;
  out += "\",\"isBinary\":";
  bool_append(out, c.is_binary);
  out += ",\"mimeType\":";
  append_json_string(out, c.mime_type);
  out += ",\"size\":";
  out += std::to_string(c.size);
  out += '}';
  return out;
}

std::string list_body(const std::string& path, const std::vector<file_entry>& entries) {
  std::string out;
  out.reserve(entries.size() * 320 + 256);
  out += "{\"success\":true,\"path\":";
  append_json_string(out, path);
  out += ",\"files\":[";
  for (std::size_t i = 0; i < entries.size(); ++i) {
    if (i) out += ',';
    entry_append(out, entries[i]);
  }
  out += "],\"count\":";
  out += std::to_string(entries.size());
  out += ",\"timestamp\":\"";
  out += iso_now();
  out += "\"}";
  return out;
}

}  // namespace sbx::files
