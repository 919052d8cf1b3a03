// The bounded output log and its helpers (no processes involved).
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "core/json_text.hpp"
#include "process/kill.hpp"
#include "process/output_log.hpp"

using sbx::process::output_log;

namespace {

std::string read_all(const output_log& log, std::uint64_t& pos) {
  std::string out;
  while (log.seq_at(pos)) log.read(pos, UINT64_MAX, 1 << 20, out);
  return out;
}

}  // namespace

TEST_CASE("output log keeps everything under its bound") {
  output_log log(1 << 20);
  log.append("hello ", 1, 0);
  log.append("world\n", 2, 1);
  CHECK(log.text() == "hello world\n");
  CHECK_FALSE(log.truncated());
  CHECK(log.end_offset() == 12);
  std::uint64_t pos = 0;
  CHECK(read_all(log, pos) == "hello world\n");
  CHECK(pos == 12);
  CHECK_FALSE(log.seq_at(pos));
}

TEST_CASE("small appends join the latest chunk only while it is the newest of the process") {
  output_log log(1 << 20);
  CHECK(log.append("a", 1, 0));
  CHECK_FALSE(log.append("b", 2, 1));  // chunk 1 is still the newest: merged
  CHECK(log.append("c", 2, 5));        // another stream wrote in between: new chunk
  std::uint64_t pos = 0;
  CHECK(*log.seq_at(pos) == 1);
  std::string out;
  log.read(pos, 2, 1 << 20, out);  // stops before seq 2
  CHECK(out == "ab");
  CHECK(*log.seq_at(pos) == 2);
}

TEST_CASE("output log drops the oldest bytes beyond its bound and says so") {
  const std::size_t cap = 10'000;
  output_log log(cap);
  std::string all;
  for (int i = 0; i < 100; ++i) {
    std::string chunk(5000, static_cast<char>('a' + i % 26));
    log.append(chunk, static_cast<std::uint64_t>(i + 1), static_cast<std::uint64_t>(i));
    all += chunk;
  }
  CHECK(log.truncated());
  CHECK(log.end_offset() == all.size());
  auto kept = log.text();
  CHECK(kept.size() <= cap);
  CHECK(kept.size() >= cap - 2 * output_log::k_chunk_overhead);
  CHECK(all.substr(all.size() - kept.size()) == kept);
  // A reader that fell behind resumes at the oldest byte still held.
  std::uint64_t pos = 0;
  CHECK(read_all(log, pos) == kept);
}

TEST_CASE("trimming never starts the log in the middle of a UTF-8 character") {
  output_log log(200);
  std::string euros;
  for (int i = 0; i < 100; ++i) euros += "\xE2\x82\xAC";  // U+20AC, 3 bytes each
  log.append(euros, 1, 0);
  auto kept = log.text();
  REQUIRE_FALSE(kept.empty());
  CHECK(static_cast<unsigned char>(kept[0]) == 0xE2);
  CHECK(kept.size() % 3 == 0);
}

TEST_CASE("utf8_incomplete_tail finds a character cut by a read") {
  using sbx::process::utf8_incomplete_tail;
  CHECK(utf8_incomplete_tail("") == 0);
  CHECK(utf8_incomplete_tail("abc") == 0);
  CHECK(utf8_incomplete_tail("a\xE2\x82\xAC") == 0);
  CHECK(utf8_incomplete_tail("a\xE2\x82") == 2);
  CHECK(utf8_incomplete_tail("a\xE2") == 1);
  CHECK(utf8_incomplete_tail("\xF0\x9F\x98") == 3);
  CHECK(utf8_incomplete_tail("\xF0\x9F\x98\x80") == 0);
  CHECK(utf8_incomplete_tail("\x80\x80\x80\x80") == 0);  // garbage is not held back
}

TEST_CASE("signal names and numbers") {
  using sbx::process::parse_signal;
  CHECK(parse_signal("SIGKILL") == 9);
  CHECK(parse_signal("KILL") == 9);
  CHECK(parse_signal("term") == 15);
  CHECK(parse_signal("9") == 9);
  CHECK(parse_signal("SIGINT") == 2);
  CHECK_FALSE(parse_signal("0"));
  CHECK_FALSE(parse_signal("65"));
  CHECK_FALSE(parse_signal("SIGNOPE"));
  CHECK_FALSE(parse_signal(""));
  CHECK_FALSE(parse_signal("-9"));
}

TEST_CASE("output text becomes the same JSON string the generic serialiser makes") {
  using sbx::append_json_string;
  auto encode = [](std::string_view s) {
    std::string out;
    append_json_string(out, s);
    return out;
  };
  CHECK(encode("plain") == "\"plain\"");
  CHECK(encode("a\"b\\c\n\r\t\b\f") == "\"a\\\"b\\\\c\\n\\r\\t\\b\\f\"");
  CHECK(encode(std::string("\x01\x1f", 2)) == "\"\\u0001\\u001f\"");
  CHECK(encode("\xE2\x82\xAC \xF0\x9F\x98\x80") == "\"\xE2\x82\xAC \xF0\x9F\x98\x80\"");
  // Invalid bytes, overlongs, surrogates and cut sequences become U+FFFD.
  CHECK(encode("a\xFF"
               "b") ==
        "\"a\xEF\xBF\xBD"
        "b\"");
  CHECK(encode("\xC0\xAF") == "\"\xEF\xBF\xBD\xEF\xBF\xBD\"");
  CHECK(encode("\xED\xA0\x80") == "\"\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\"");
  CHECK(encode("\xE2\x82") == "\"\xEF\xBF\xBD\xEF\xBF\xBD\"");
  for (std::string s : {std::string("x\xE2\x82\xAC\"\n"), std::string("\xF4\x8F\xBF\xBF")})
    CHECK(nlohmann::json::parse(encode(s)).get<std::string>() == s);
  // Runs of plain bytes are scanned sixteen at a time: every special byte at
  // every offset within and across those blocks.
  const std::string specials[] = {"\"",   "\\",       "\n",  std::string(1, '\0'),
                                  "\x7f", "\xC3\xA9", "\xFF"};
  for (std::size_t len = 0; len < 40; ++len)
    for (const auto& special : specials) {
      std::string s = std::string(len, 'a') + special + std::string(len % 19, 'b');
      CHECK(encode(s) ==
            nlohmann::json(s).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
      if (special == "\xFF") continue;  // not UTF-8: only for the checking form
      std::string known;
      sbx::append_json_string_utf8(known, s);
      CHECK(known == encode(s));
    }
}
