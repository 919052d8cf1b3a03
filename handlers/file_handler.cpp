#include "handlers/file_handler.hpp"

#include <strings.h>

#include <span>

#include <boost/asio/post.hpp>

#include "app/app.hpp"
#include "files/codec.hpp"
#include "files/file_json.hpp"
#include "files/file_service.hpp"
#include "files/fs_error.hpp"
#include "files/json_body.hpp"
#include "files/path_rules.hpp"
#include "files/read_stream.hpp"
#include "handlers/request_body.hpp"
#include "server/sse.hpp"

namespace sbx::handlers {
namespace {

// Two base64 chunk frames: one being written to the socket, one queued.
constexpr std::size_t k_stream_high_water_bytes = 128 * 1024;

// A file request after parsing: its body and the session whose current
// directory relative paths resolve against (body sessionId, else "default").
struct file_request {
  nlohmann::json body;
  std::string session;
};

result<file_request> request_of(const http::request& req, result<nlohmann::json> body) {
  if (!body) return body.error();
  fields f(*body);
  auto session_id = f.str("sessionId");
  if (!f.ok()) return f.error();
  return file_request{std::move(*body), resolve_session_id(req, session_id, false)};
}

result<file_request> parse(const http::request& req) {
  return request_of(req, parse_body(req));
}

const nlohmann::json* member(const nlohmann::json& body, std::string_view name) {
  auto it = body.find(name);
  return it == body.end() || it->is_null() ? nullptr : &*it;
}

// A validated path field (API.md §7, §12.1).
result<std::string> path_field(const nlohmann::json& body, std::string_view name) {
  const auto* v = member(body, name);
  if (auto e = files::validate_path(v, name)) return *e;
  return v->get<std::string>();
}

http::response answer(const status& s, nlohmann::json fields) {
  if (!s) return http::response::error(s.error());
  return http::response::json(success(std::move(fields)));
}

// An optional boolean member; absent is false.
result<bool> bool_member(const nlohmann::json& obj, std::string_view name, std::string_view label) {
  const auto* v = member(obj, name);
  if (!v) return false;
  if (!v->is_boolean()) return field_error(label, "must be a boolean");
  return v->get<bool>();
}

bool equals_nocase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && strncasecmp(a.data(), b.data(), a.size()) == 0;
}

// Runs a file operation on the blocking pool: parsing included, since a
// write body can be hundreds of megabytes.
void on_pool(app& a, http::request req, http::responder done,
             http::response (*fn)(app&, http::request&)) {
  a.run_blocking(std::move(done), [&a, req = std::move(req), fn]() mutable { return fn(a, req); });
}

http::response do_read(app& a, http::request& req) {
  auto r = parse(req);
  if (!r) return http::response::error(r.error());
  auto path = path_field(r->body, "path");
  if (!path) return http::response::error(path.error());
  fields f(r->body);
  auto encoding = f.str("encoding");
  if (!f.ok()) return http::response::error(f.error());
  bool want_base64 = encoding && equals_nocase(*encoding, "base64");
  auto content = a.files().read(r->session, *path, want_base64);
  if (!content) return http::response::error(content.error());
  return http::response::text(files::read_body(*path, *content), "application/json");
}

http::response do_write(app& a, http::request& req) {
  // The file's text is unescaped (and base64-decoded) in place inside the
  // request body: a write holds its content once, and nlohmann, which scans
  // strings a byte at a time, only sees the small members.
  auto fast = files::parse_object_with_blob(req.body, "content");
  if (!fast.ok && fast.text_changed)
    return http::response::error(body_parse_error("request body is not valid JSON"));
  auto r = fast.ok ? request_of(req, std::move(fast.object)) : parse(req);
  if (!r) return http::response::error(r.error());
  auto path = path_field(r->body, "path");
  if (!path) return http::response::error(path.error());
  fields f(r->body);
  auto encoding = f.str("encoding");
  if (!f.ok()) return http::response::error(f.error());
  // The content: a view into req.body, or (ordinary parser) into r.
  std::span<char> text;
  if (fast.blob) {
    text = *fast.blob;
  } else {
    auto content = r->body.find("content");
    if (content == r->body.end() || content->is_null())
      return http::response::error(field_error("content", "is required"));
    if (!content->is_string())
      return http::response::error(field_error("content", "must be a string"));
    auto& s = content->get_ref<std::string&>();
    text = std::span<char>(s.data(), s.size());
  }

  status written = ok_status();
  if (encoding && equals_nocase(*encoding, "base64")) {
    // Decoding never lengthens the text either: it is decoded in place.
    auto bytes = files::base64_decode_into(std::string_view(text.data(), text.size()), text.data());
    if (!bytes) {
      std::string problem = "content is not valid base64";
      return http::response::error(make_error(
          codes::validation_failed, "Invalid base64 content for '" + *path + "'",
          {{"validationErrors",
            nlohmann::json::array(
                {{{"field", "content"}, {"message", problem}, {"code", "INVALID_BASE64"}}})}}));
    }
    written = a.files().write(r->session, *path, std::string_view(text.data(), *bytes));
  } else {
    written = a.files().write(r->session, *path, std::string_view(text.data(), text.size()));
  }
  return answer(written, {{"path", *path}});
}

http::response do_delete(app& a, http::request& req) {
  auto r = parse(req);
  if (!r) return http::response::error(r.error());
  auto path = path_field(r->body, "path");
  if (!path) return http::response::error(path.error());
  return answer(a.files().remove(r->session, *path), {{"path", *path}});
}

http::response do_move(app& a, http::request& req, std::string_view from_field,
                       std::string_view to_field, std::string_view operation) {
  auto r = parse(req);
  if (!r) return http::response::error(r.error());
  auto from = path_field(r->body, from_field);
  if (!from) return http::response::error(from.error());
  auto to = path_field(r->body, to_field);
  if (!to) return http::response::error(to.error());
  return answer(a.files().move(r->session, *from, *to, operation),
                {{"path", *from}, {"newPath", *to}});
}

http::response do_rename(app& a, http::request& req) {
  return do_move(a, req, "oldPath", "newPath", files::ops::rename);
}

http::response do_move_file(app& a, http::request& req) {
  return do_move(a, req, "sourcePath", "destinationPath", files::ops::move);
}

http::response do_mkdir(app& a, http::request& req) {
  auto r = parse(req);
  if (!r) return http::response::error(r.error());
  auto path = path_field(r->body, "path");
  if (!path) return http::response::error(path.error());
  fields f(r->body);
  bool recursive = f.boolean("recursive").value_or(false);
  if (!f.ok()) return http::response::error(f.error());
  return answer(a.files().make_directory(r->session, *path, recursive),
                {{"path", *path}, {"recursive", recursive}});
}

http::response do_list(app& a, http::request& req) {
  auto r = parse(req);
  if (!r) return http::response::error(r.error());
  auto path = path_field(r->body, "path");
  if (!path) return http::response::error(path.error());
  files::walk_options opts;
  if (const auto* o = member(r->body, "options"); o && o->is_object()) {
    auto recursive = bool_member(*o, "recursive", "options.recursive");
    if (!recursive) return http::response::error(recursive.error());
    auto hidden = bool_member(*o, "includeHidden", "options.includeHidden");
    if (!hidden) return http::response::error(hidden.error());
    opts.recursive = *recursive;
    opts.include_hidden = *hidden;
  }
  auto entries = a.files().list(r->session, *path, opts);
  if (!entries) return http::response::error(entries.error());
  return http::response::text(files::list_body(*path, *entries), "application/json");
}

http::response do_exists(app& a, http::request& req) {
  auto r = parse(req);
  if (!r) return http::response::error(r.error());
  auto path = path_field(r->body, "path");
  if (!path) return http::response::error(path.error());
  auto found = a.files().exists(r->session, *path);
  if (!found) return http::response::error(found.error());
  return http::response::json(success({{"path", *path}, {"exists", *found}}));
}

}  // namespace

void file_read(app& a, http::request req, http::responder done) {
  on_pool(a, std::move(req), std::move(done), do_read);
}

void file_read_stream(app& a, http::request req, http::responder done) {
  // Only a body that is not JSON is an HTTP error; everything after that is
  // reported inside the stream (API.md §7.3).
  auto r = parse(req);
  if (!r) return done(r.error());
  auto channel = std::make_shared<http::sse_channel>(k_stream_high_water_bytes);
  done(http::response::sse(channel));
  auto path = path_field(r->body, "path");
  if (!path) return files::fail_stream(*channel, path.error().message);
  boost::asio::post(a.rt().blocking, [&a, channel, session = r->session, path = *path] {
    auto src = a.files().open_source(session, path);
    if (!src) return files::fail_stream(*channel, src.error().message);
    files::stream_file(std::move(*src), channel, a.rt().blocking);
  });
}

void file_write(app& a, http::request req, http::responder done) {
  on_pool(a, std::move(req), std::move(done), do_write);
}

void file_delete(app& a, http::request req, http::responder done) {
  on_pool(a, std::move(req), std::move(done), do_delete);
}

void file_rename(app& a, http::request req, http::responder done) {
  on_pool(a, std::move(req), std::move(done), do_rename);
}

void file_move(app& a, http::request req, http::responder done) {
  on_pool(a, std::move(req), std::move(done), do_move_file);
}

void file_mkdir(app& a, http::request req, http::responder done) {
  on_pool(a, std::move(req), std::move(done), do_mkdir);
}

void file_list(app& a, http::request req, http::responder done) {
  on_pool(a, std::move(req), std::move(done), do_list);
}

void file_exists(app& a, http::request req, http::responder done) {
  on_pool(a, std::move(req), std::move(done), do_exists);
}

}  // namespace sbx::handlers
