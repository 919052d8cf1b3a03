// File service without HTTP: codecs, path rules, errno mapping, MIME rule,
// and every operation against a fresh temp directory.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>

#include <boost/asio/io_context.hpp>
#include <boost/asio/thread_pool.hpp>
#include <catch2/catch.hpp>

#include "core/config.hpp"
#include "core/json_text.hpp"
#include "core/runtime.hpp"
#include "files/codec.hpp"
#include "files/dir_walk.hpp"
#include "files/file_json.hpp"
#include "files/file_service.hpp"
#include "files/fs_error.hpp"
#include "files/json_body.hpp"
#include "files/mime.hpp"
#include "files/path_rules.hpp"
#include "files/tree_copy.hpp"
#include "process/reaper.hpp"
#include "session/session_manager.hpp"

namespace fs = std::filesystem;
using namespace sbx;

namespace {

// A temp directory as workspace and a file service built like the daemon's.
struct fixture {
  fs::path dir;
  config cfg;
  boost::asio::io_context io;
  boost::asio::thread_pool pool{1};
  process::reaper reaper{io};
  runtime rt{cfg, io, pool, reaper};
  std::unique_ptr<session_manager> sessions;
  std::unique_ptr<file_service> files;

  fixture() {
    std::string tmpl = (fs::temp_directory_path() / "sbx-files-unit-XXXXXX").string();
    REQUIRE(::mkdtemp(tmpl.data()));
    dir = tmpl;
    cfg.workspace = dir.string();
    sessions = std::make_unique<session_manager>(rt);
    files = std::make_unique<file_service>(rt, *sessions);
  }
  ~fixture() {
    files.reset();
    sessions.reset();
    pool.join();
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
  std::string at(const std::string& name) const { return (dir / name).string(); }
};

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

void spit(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

std::string all_bytes() {
  std::string s;
  for (int i = 0; i < 256; ++i) s += static_cast<char>(i);
  return s;
}

// Decodes into a new string (the daemon decodes in place).
std::optional<std::string> base64_decode(std::string_view text) {
  std::string out(files::base64_decoded_bound(text.size()), '\0');
  auto n = files::base64_decode_into(text, out.data());
  if (!n) return std::nullopt;
  out.resize(*n);
  return out;
}

}  // namespace

TEST_CASE("base64 round-trips every byte and rejects junk", "[files]") {
  for (std::size_t n = 0; n < 10; ++n) {
    std::string bytes = all_bytes().substr(250 - n * 20, n * 7);
    auto text = files::base64_encode(bytes);
    CHECK(text.size() == files::base64_encoded_size(bytes.size()));
    CHECK(base64_decode(text) == bytes);
  }
  CHECK(files::base64_encode("hello") == "aGVsbG8=");
  // Long enough for the vector path, with every sextet value in it.
  CHECK(files::base64_encode(std::string_view("\x00\x10\x83\x10\x51\x87\x20\x92\x8b\x30\xd3\x8f"
                                              "\x41\x14\x93\x51\x55\x97\x61\x96\x9b\x71\xd7\x9f"
                                              "\x82\x18\xa3\x92\x59\xa7\xa2\x9a\xab\xb2\xdb\xaf"
                                              "\xc3\x1c\xb3\xd3\x5d\xb7\xe3\x9e\xbb\xf3\xdf\xbf",
                                              48)) ==
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/");
  CHECK(base64_decode("aGVs\nbG8=") == std::string("hello"));
  CHECK(base64_decode("aGVsbG8") == std::string("hello"));  // padding optional
  CHECK_FALSE(base64_decode("aGVs*G8="));
  CHECK_FALSE(base64_decode("aGVsbG8=aGVs"));  // data after padding
  CHECK_FALSE(base64_decode("a"));
}

TEST_CASE("base64 in place: the block at the end of the field encodes over itself", "[files]") {
  for (std::size_t n : {0, 1, 2, 3, 4, 5, 6, 15, 16, 17, 27, 28, 29, 254, 255, 256, 65535}) {
    std::string bytes;
    for (std::size_t i = 0; i < n; ++i) bytes += static_cast<char>((i * 131 + 7) & 0xff);
    std::string field(files::base64_encoded_size(n), '?');
    field.replace(field.size() - n, n, bytes);
    files::base64_encode_in_place(field.data(), n);
    CHECK(field == files::base64_encode(bytes));
  }
}

TEST_CASE("UTF-8 checks and character-boundary cuts", "[files]") {
  CHECK(files::utf8_valid("plain ascii"));
  CHECK(files::utf8_valid("caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80"));
  CHECK_FALSE(files::utf8_valid("\xC0\xAF"));      // overlong
  CHECK_FALSE(files::utf8_valid("\xED\xA0\x80"));  // surrogate
  CHECK_FALSE(files::utf8_valid("\xFF"));
  // ASCII is skipped in blocks: a bad byte at any offset is still found.
  for (std::size_t len = 0; len < 40; ++len) {
    CHECK(files::utf8_valid(std::string(len, 'a') + "\xC3\xA9" + std::string(len % 19, 'b')));
    CHECK_FALSE(files::utf8_valid(std::string(len, 'a') + "\xFF" + std::string(len % 19, 'b')));
  }
  std::string smile = "ab\xF0\x9F\x98\x80";
  CHECK(files::utf8_cut(smile) == smile.size());
  for (std::size_t keep = 3; keep < smile.size(); ++keep)
    CHECK(files::utf8_cut(smile.substr(0, keep)) == 2);
  CHECK(files::utf8_cut("ab\xFF") == 3);  // never valid: not held back
}

namespace {

// The fast parser's view of `body` as one JSON value (the blob put back as a
// member), or nothing when it fails.
std::optional<nlohmann::json> parse_fast(std::string body, std::string_view blob_member) {
  auto r = files::parse_object_with_blob(body, blob_member);
  if (!r.ok) return std::nullopt;
  if (r.blob) r.object[std::string(blob_member)] = std::string(r.blob->data(), r.blob->size());
  return r.object;
}

}  // namespace

TEST_CASE("fast body parser agrees with nlohmann", "[files]") {
  std::string body =
      R"({"path":"/tmp/x","content":"line\n\"q\" \u00e9 \ud83d\ude00 \/","n":1.5,"o":{"a":[1,"}"]},"b":true,"z":null})";
  for (std::string_view blob : {"content", "none"}) {
    auto fast = parse_fast(body, blob);
    REQUIRE(fast);
    CHECK(*fast == nlohmann::json::parse(body));
    for (std::string bad : {"", "[]", "{", R"({"a":})", R"({"a":"x)", "{\"a\":\"\x01\"}",
                            R"({"a":1} x)", R"({"a":"\ud800\uzzzz"})"})
      CHECK_FALSE(parse_fast(bad, blob));
  }
}

TEST_CASE("fast body parser reads lone surrogate escapes as U+FFFD, as the lenient parser does",
          "[files]") {
  // What JSON.stringify writes for strings holding lone surrogates.
  std::string body =
      R"({"a":"x\ud800y","content":"\udc00|\ud800\u0041|\ud83d\ude00|\ud83d","b":"\\ud800"})";
  for (std::string_view blob : {"content", "none"}) {
    auto fast = parse_fast(body, blob);
    REQUIRE(fast);
    CHECK(*fast == parse_json_lenient(body));
    CHECK((*fast)["content"] ==
          "\xEF\xBF\xBD|\xEF\xBF\xBD"
          "A|\xF0\x9F\x98\x80|\xEF\xBF\xBD");
  }
}

TEST_CASE("fast body parser finds escapes and control bytes at every offset", "[files]") {
  // The scanner reads eight bytes at a time; put each special byte at each
  // position within and across those words, in place and copied.
  for (std::string_view blob : {"content", "none"})
    for (std::size_t len = 0; len < 24; ++len)
      for (std::string special : {"\\n", "\\\"", "\\\\", "\\u00e9", "\xC3\xA9", "~"}) {
        std::string body = R"({"content":")" + std::string(len, 'x') + special + "yz\"}";
        auto fast = parse_fast(body, blob);
        REQUIRE(fast);
        CHECK(*fast == nlohmann::json::parse(body));
        std::string raw = R"({"content":")" + std::string(len, 'x') + "\x1f" + "yz\"}";
        CHECK_FALSE(parse_fast(raw, blob));
      }
}

TEST_CASE("a write body's content is unescaped in place and agrees with nlohmann", "[files]") {
  std::string body =
      R"({"path":"/tmp/x","content":"line\n\"q\" \u00e9 \ud83d\ude00 \/ end","n":[1,"\t"]})";
  auto expected = nlohmann::json::parse(body);
  auto r = files::parse_object_with_blob(body, "content");
  REQUIRE(r.ok);
  REQUIRE(r.blob);
  CHECK(std::string(r.blob->data(), r.blob->size()) == expected["content"].get<std::string>());
  CHECK_FALSE(r.object.contains("content"));
  CHECK(r.object["path"] == "/tmp/x");
  CHECK(r.object["n"] == expected["n"]);

  // Not a string: stays a member, no blob. A later duplicate wins.
  std::string number = R"({"content":5})";
  auto n = files::parse_object_with_blob(number, "content");
  REQUIRE(n.ok);
  CHECK_FALSE(n.blob);
  CHECK(n.object["content"] == 5);
  std::string twice = R"({"content":"a","content":7})";
  auto t = files::parse_object_with_blob(twice, "content");
  REQUIRE(t.ok);
  CHECK_FALSE(t.blob);

  // Failing before the content leaves the text alone; after it, says so.
  std::string early = R"({"path":1 2,"content":"a\nb"})";
  auto e = files::parse_object_with_blob(early, "content");
  CHECK_FALSE(e.ok);
  CHECK_FALSE(e.text_changed);
  CHECK(early == R"({"path":1 2,"content":"a\nb"})");
  std::string late = R"({"content":"a\nb",})";
  auto l = files::parse_object_with_blob(late, "content");
  CHECK_FALSE(l.ok);
  CHECK(l.text_changed);
}

TEST_CASE("base64 decodes in place", "[files]") {
  std::string raw;
  for (int i = 0; i < 3000; ++i) raw += static_cast<char>(i * 7);
  for (std::size_t len : {0, 1, 2, 3, 4, 100, 2999}) {
    std::string text = files::base64_encode(raw.substr(0, len));
    text.insert(text.size() / 2, "\n ");
    auto n = files::base64_decode_into(text, text.data());
    REQUIRE(n);
    CHECK(text.substr(0, *n) == raw.substr(0, len));
  }
  std::string bad = "ab$d";
  CHECK_FALSE(files::base64_decode_into(bad, bad.data()));
}

TEST_CASE("path validation follows §12.1", "[files]") {
  nlohmann::json ok = "/tmp/a";
  CHECK_FALSE(files::validate_path(&ok, "path"));
  auto missing = files::validate_path(nullptr, "path");
  REQUIRE(missing);
  CHECK(missing->code == "VALIDATION_FAILED");
  CHECK(missing->http_status() == 400);
  CHECK(missing->message == "Invalid path format for 'undefined': Path must be a non-empty string");
  CHECK(missing->context["validationErrors"][0] ==
        nlohmann::json{{"field", "path"},
                       {"message", "Path must be a non-empty string"},
                       {"code", "INVALID_PATH"}});
  nlohmann::json nul = std::string("/a\0b", 4);
  CHECK(files::validate_path(&nul, "oldPath")->context["validationErrors"][0]["field"] ==
        "oldPath");
  nlohmann::json long_path = "/" + std::string(4096, 'a');
  CHECK(files::validate_path(&long_path, "path")
            ->message.ends_with("Path too long (max 4096 characters)"));
  CHECK(files::resolve_path("a/b", "/w") == "/w/a/b");
  CHECK(files::resolve_path("/abs", "/w") == "/abs");
  CHECK(files::parent_of("/a/b/") == "/a");
  CHECK(files::parent_of("/a") == "/");
  CHECK(files::base_name("/a/b/") == "b");
}

TEST_CASE("errno maps to contract codes in one place", "[files]") {
  struct row {
    int err;
    std::string_view code;
    int status;
  };
  for (auto r : {row{ENOENT, "FILE_NOT_FOUND", 404}, row{ENOTDIR, "NOT_DIRECTORY", 400},
                 row{EISDIR, "IS_DIRECTORY", 400}, row{EEXIST, "FILE_EXISTS", 409},
                 row{EACCES, "PERMISSION_DENIED", 403}, row{EPERM, "PERMISSION_DENIED", 403},
                 row{ENOSPC, "NO_SPACE", 500}, row{ENAMETOOLONG, "NAME_TOO_LONG", 400},
                 row{EROFS, "READ_ONLY", 403}, row{EMLINK, "TOO_MANY_LINKS", 500},
                 row{ELOOP, "TOO_MANY_LINKS", 400}, row{EMFILE, "TOO_MANY_FILES", 500},
                 row{ENFILE, "TOO_MANY_FILES", 500}, row{EIO, "FILESYSTEM_ERROR", 500}}) {
    auto e = files::fs_error(r.err, files::ops::write, "/p");
    INFO(r.code);
    CHECK(e.code == r.code);
    CHECK(e.http_status() == r.status);
    CHECK(e.context == nlohmann::json{{"path", "/p"}, {"operation", "file.write"}});
  }
}

TEST_CASE("remembered MIME answers follow the bytes, not earlier answers", "[files]") {
  // Same length, different content: each gets its own answer, again and again.
  std::string png("\x89PNG\r\n\x1a\n\0\0\0\rIHDR", 16);
  std::string text = "sixteen bytes..\n";
  std::string json = "{\"a\": [1, 2, 3]}";
  for (int round = 0; round < 3; ++round) {
    CHECK(files::detect_mime(text, false) == "text/plain");
    CHECK(files::detect_mime(png, false) == "image/png");
    CHECK(files::detect_mime(json, false) == "application/json");
  }
  // More distinct heads than are remembered: answers stay right as old ones go.
  for (int i = 0; i < 600; ++i) {
    CHECK(files::detect_mime("line " + std::to_string(i) + "\n", false) == "text/plain");
    if (i % 100 == 0) CHECK(files::detect_mime(png, false) == "image/png");
  }
}

TEST_CASE("MIME detection and the text rule", "[files]") {
  CHECK(files::detect_mime("hello\n", false) == "text/plain");
  CHECK(files::detect_mime("", true) == "inode/x-empty");
  CHECK(files::detect_mime(std::string("\x89PNG\r\n\x1a\n\0\0\0\rIHDR", 16), false) == "image/png");
  CHECK(files::is_text_mime("text/plain"));
  CHECK(files::is_text_mime("application/json"));
  CHECK(files::is_text_mime("image/svg+xml"));
  CHECK(files::is_text_mime("inode/x-empty"));
  CHECK_FALSE(files::is_text_mime("application/octet-stream"));
  CHECK_FALSE(files::is_text_mime("image/png"));
}

TEST_CASE("write and read are byte-exact in both encodings", "[files]") {
  fixture f;
  std::string text = "line one\nline two\n\n";  // trailing newlines kept
  REQUIRE(f.files->write("default", f.at("t.txt"), text));
  CHECK(slurp(f.at("t.txt")) == text);
  auto r = f.files->read("default", f.at("t.txt"), false);
  REQUIRE(r);
  CHECK(r->content == text);
  CHECK(r->encoding == "utf-8");
  CHECK_FALSE(r->is_binary);
  CHECK(r->mime_type == "text/plain");
  CHECK(r->size == text.size());

  auto as_b64 = f.files->read("default", f.at("t.txt"), true);
  REQUIRE(as_b64);
  CHECK(as_b64->encoding == "base64");
  CHECK_FALSE(as_b64->is_binary);
  CHECK(base64_decode(as_b64->content) == text);

  std::string bin = all_bytes();
  REQUIRE(f.files->write("default", f.at("b.bin"), bin));
  auto rb = f.files->read("default", f.at("b.bin"), false);
  REQUIRE(rb);
  CHECK(rb->is_binary);
  CHECK(rb->encoding == "base64");
  CHECK(base64_decode(rb->content) == bin);
  CHECK(rb->size == 256);

  // Text by MIME but not UTF-8: cannot travel as JSON text.
  spit(f.at("latin1.txt"), "caf\xE9 au lait\n");
  auto rl = f.files->read("default", f.at("latin1.txt"), false);
  REQUIRE(rl);
  CHECK(rl->encoding == "base64");
  CHECK(base64_decode(rl->content) == std::string("caf\xE9 au lait\n"));

  auto empty = f.files->write("default", f.at("e.txt"), "");
  REQUIRE(empty);
  auto re = f.files->read("default", f.at("e.txt"), false);
  REQUIRE(re);
  CHECK(re->mime_type == "inode/x-empty");
  CHECK(re->encoding == "utf-8");
  CHECK(re->content.empty());
}

TEST_CASE("relative paths resolve against the session's directory", "[files]") {
  fixture f;
  REQUIRE(f.files->write("default", "rel.txt", "x"));
  CHECK(slurp(f.at("rel.txt")) == "x");
  CHECK(*f.files->exists("some-session", "rel.txt"));
}

TEST_CASE("writes keep modes, follow links and create no parents", "[files]") {
  fixture f;
  spit(f.at("script.sh"), "old");
  ::chmod(f.at("script.sh").c_str(), 0750);
  REQUIRE(f.files->write("default", f.at("script.sh"), "new"));
  struct stat st;
  REQUIRE(::stat(f.at("script.sh").c_str(), &st) == 0);
  CHECK((st.st_mode & 07777) == 0750);

  REQUIRE(::symlink("script.sh", f.at("link").c_str()) == 0);
  REQUIRE(f.files->write("default", f.at("link"), "via link"));
  REQUIRE(::lstat(f.at("link").c_str(), &st) == 0);
  CHECK(S_ISLNK(st.st_mode));
  CHECK(slurp(f.at("script.sh")) == "via link");

  auto no_parent = f.files->write("default", f.at("missing/x.txt"), "x");
  REQUIRE_FALSE(no_parent);
  CHECK(no_parent.error().code == "FILE_NOT_FOUND");
  CHECK_FALSE(fs::exists(f.at("missing")));

  fs::create_directory(f.at("d"));
  auto onto_dir = f.files->write("default", f.at("d"), "x");
  REQUIRE_FALSE(onto_dir);
  CHECK(onto_dir.error().code == "IS_DIRECTORY");

  // No temp files left behind.
  for (const auto& e : fs::directory_iterator(f.dir))
    CHECK(e.path().filename().string().find(".sbx-") == std::string::npos);
}

TEST_CASE("read errors: missing, directory", "[files]") {
  fixture f;
  auto missing = f.files->read("default", f.at("nope"), false);
  REQUIRE_FALSE(missing);
  CHECK(missing.error().code == "FILE_NOT_FOUND");
  CHECK(missing.error().message == "File not found: " + f.at("nope"));
  CHECK(missing.error().context["operation"] == "file.read");
  auto dir = f.files->read("default", f.dir.string(), false);
  REQUIRE_FALSE(dir);
  CHECK(dir.error().code == "IS_DIRECTORY");
}

TEST_CASE("delete refuses directories and removes links, not targets", "[files]") {
  fixture f;
  fs::create_directory(f.at("d"));
  auto d = f.files->remove("default", "d");
  REQUIRE_FALSE(d);
  CHECK(d.error().code == "IS_DIRECTORY");
  CHECK(d.error().message ==
        "Cannot delete directory with deleteFile() at 'd'. Use exec('rm -rf "
        "<path>') instead.");
  spit(f.at("t"), "x");
  REQUIRE(::symlink("t", f.at("l").c_str()) == 0);
  REQUIRE(f.files->remove("default", "l"));
  CHECK(fs::exists(f.at("t")));
  REQUIRE(f.files->remove("default", "t"));
  CHECK_FALSE(fs::exists(f.at("t")));
  auto gone = f.files->remove("default", "t");
  REQUIRE_FALSE(gone);
  CHECK(gone.error().code == "FILE_NOT_FOUND");
  CHECK(gone.error().message == "File not found: t");
}

TEST_CASE("move and rename follow mv semantics", "[files]") {
  fixture f;
  spit(f.at("a"), "A");
  REQUIRE(f.files->move("default", "a", "b", files::ops::rename));
  CHECK(slurp(f.at("b")) == "A");
  fs::create_directory(f.at("dir"));
  REQUIRE(f.files->move("default", "b", "dir", files::ops::move));
  CHECK(slurp(f.at("dir/b")) == "A");
  auto missing = f.files->move("default", "nope", "x", files::ops::move);
  REQUIRE_FALSE(missing);
  CHECK(missing.error().code == "FILE_NOT_FOUND");
  CHECK(missing.error().message == "Source file not found: nope");
  auto into_self = f.files->move("default", "dir", "dir/sub", files::ops::rename);
  REQUIRE_FALSE(into_self);
  CHECK(into_self.error().http_status() == 400);
}

TEST_CASE("tree copy keeps files, links and modes", "[files]") {
  fixture f;
  fs::create_directories(f.at("src/sub"));
  spit(f.at("src/sub/x"), all_bytes());
  ::chmod(f.at("src/sub/x").c_str(), 0741);
  REQUIRE(::symlink("sub/x", f.at("src/link").c_str()) == 0);
  REQUIRE(files::copy_tree(f.at("src"), f.at("dst")) == 0);
  CHECK(slurp(f.at("dst/sub/x")) == all_bytes());
  struct stat st;
  REQUIRE(::stat(f.at("dst/sub/x").c_str(), &st) == 0);
  CHECK((st.st_mode & 07777) == 0741);
  CHECK(fs::read_symlink(f.at("dst/link")) == "sub/x");
  REQUIRE(files::remove_tree(f.at("src")) == 0);
  CHECK_FALSE(fs::exists(f.at("src")));
}

TEST_CASE("mkdir: plain, recursive, existing", "[files]") {
  fixture f;
  REQUIRE(f.files->make_directory("default", "a", false));
  auto again = f.files->make_directory("default", "a", false);
  REQUIRE_FALSE(again);
  CHECK(again.error().code == "FILE_EXISTS");
  CHECK(again.error().http_status() == 409);
  auto no_parent = f.files->make_directory("default", "x/y", false);
  REQUIRE_FALSE(no_parent);
  CHECK(no_parent.error().code == "FILE_NOT_FOUND");
  REQUIRE(f.files->make_directory("default", "x/y/z/", true));
  CHECK(fs::is_directory(f.at("x/y/z")));
  REQUIRE(f.files->make_directory("default", "x/y", true));  // exists: fine
  spit(f.at("file"), "");
  auto onto_file = f.files->make_directory("default", "file", true);
  REQUIRE_FALSE(onto_file);
  CHECK(onto_file.error().code == "FILE_EXISTS");
  auto under_file = f.files->make_directory("default", "file/sub", true);
  REQUIRE_FALSE(under_file);
  CHECK(under_file.error().code == "NOT_DIRECTORY");
}

TEST_CASE("listing: fields, order, hidden names, symlinks", "[files]") {
  fixture f;
  fs::create_directories(f.at(".cfg/inner"));
  fs::create_directories(f.at("l1/l2"));
  spit(f.at("l1/l2/deep.txt"), "deep");
  spit(f.at(".hidden"), "h");
  spit(f.at("data.txt"), "12345");
  REQUIRE(::symlink("l1", f.at("loop").c_str()) == 0);

  files::walk_options flat;
  auto top = f.files->list("default", f.dir.string(), flat);
  REQUIRE(top);
  std::set<std::string> names;
  for (const auto& e : *top) names.insert(e.name);
  CHECK(names == std::set<std::string>{"data.txt", "l1", "loop"});

  files::walk_options rec{true, false};
  auto all = f.files->list("default", f.dir.string(), rec);
  REQUIRE(all);
  const files::file_entry* deep = nullptr;
  const files::file_entry* l2 = nullptr;
  std::size_t deep_index = 0, l2_index = 0;
  for (std::size_t i = 0; i < all->size(); ++i) {
    if ((*all)[i].relative_path == "l1/l2/deep.txt") deep = &(*all)[i], deep_index = i;
    if ((*all)[i].relative_path == "l1/l2") l2 = &(*all)[i], l2_index = i;
    CHECK((*all)[i].relative_path.find("loop/") == std::string::npos);  // links not followed
  }
  REQUIRE(deep);
  REQUIRE(l2);
  CHECK(l2_index < deep_index);  // pre-order
  CHECK(deep->absolute_path == f.at("l1/l2/deep.txt"));
  CHECK(deep->type == "file");
  CHECK(deep->size == 4);
  CHECK(files::mode_string(deep->mode) == "rw-r--r--");
  CHECK(l2->type == "directory");
  for (const auto& e : *all)
    if (e.name == "loop") CHECK(e.type == "symlink");

  // Inside a dot-directory: the listed directory's own name does not hide it.
  auto inside = f.files->list("default", f.at(".cfg"), flat);
  REQUIRE(inside);
  REQUIRE(inside->size() == 1);
  CHECK(inside->front().name == "inner");

  files::walk_options hidden{false, true};
  auto with_hidden = f.files->list("default", f.dir.string(), hidden);
  REQUIRE(with_hidden);
  CHECK(with_hidden->size() == 5);

  auto not_dir = f.files->list("default", f.at("data.txt"), flat);
  REQUIRE_FALSE(not_dir);
  CHECK(not_dir.error().code == "NOT_DIRECTORY");
  CHECK(not_dir.error().message == "Path is not a directory: " + f.at("data.txt"));
  auto missing = f.files->list("default", f.at("nope"), flat);
  REQUIRE_FALSE(missing);
  CHECK(missing.error().code == "FILE_NOT_FOUND");
}

TEST_CASE("timestamps and modes use find's formats", "[files]") {
  struct timespec t {};
  t.tv_sec = 0;
  t.tv_nsec = 766781593;
  ::setenv("TZ", "UTC", 1);
  ::tzset();
  CHECK(files::find_time(t) == "1970-01-01T00:00:00.7667815930");
  CHECK(files::mode_string(0755) == "rwxr-xr-x");
  CHECK(files::mode_string(04640) == "rw-r-----");
}

TEST_CASE("exists follows links, dangling links do not exist", "[files]") {
  fixture f;
  spit(f.at("t"), "x");
  REQUIRE(::symlink("t", f.at("good").c_str()) == 0);
  REQUIRE(::symlink("nowhere", f.at("dangling").c_str()) == 0);
  CHECK(*f.files->exists("default", "t"));
  CHECK(*f.files->exists("default", "good"));
  CHECK_FALSE(*f.files->exists("default", "dangling"));
  CHECK_FALSE(*f.files->exists("default", "t/below-a-file"));
}

TEST_CASE("response bodies are valid JSON with every field", "[files]") {
  file_content c{"a\"b\n", "utf-8", false, "text/plain", 4};
  auto body = nlohmann::json::parse(files::read_body("p", c));
  CHECK(body["success"] == true);
  CHECK(body["content"] == "a\"b\n");
  CHECK(body["size"] == 4);
  CHECK(body["isBinary"] == false);
  CHECK(body.contains("timestamp"));
  files::file_entry e{"n", "/d/n", "n", "file", 3, "2025-01-01T00:00:00.0000000000", 0100755};
  auto list = nlohmann::json::parse(files::list_body("/d", {e}));
  CHECK(list["count"] == 1);
  CHECK(list["files"][0]["mode"] == "rwxr-xr-x");
  CHECK(list["files"][0]["permissions"] ==
        nlohmann::json{{"readable", true}, {"writable", true}, {"executable", true}});
}
