// JSON string escaping: the fast appender against the serialiser, and
// against the sink-based escaper it shares its rules with, over inputs that
// cross every block and segment boundary.
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "core/json_text.hpp"

TEST_CASE("JSON escaping matches the serialiser", "[json]") {
  std::string raw = "q\"b\\n\n\t\x01 \xC3\xA9 \xFF end";
  std::string out;
  sbx::append_json_string(out, raw);
  CHECK(nlohmann::json::parse(out).get<std::string>() ==
        "q\"b\\n\n\t\x01 \xC3\xA9 \xEF\xBF\xBD end");
  CHECK(out.find("\\u0001") != std::string::npos);
}

TEST_CASE("JSON escaping over its own input gives the same body", "[json]") {
  std::vector<std::string> inputs = {"",
                                     "plain",
                                     "\n",
                                     "\x01",
                                     "\xFF",
                                     "a\"b\\c",
                                     "caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80 \xC3",
                                     std::string(40, '\x07'),
                                     "line\n" + std::string(100, 'x')};
  std::string mixed;
  for (int i = 0; i < 5000; ++i) mixed += static_cast<char>((i * 7919 + 13) % 251);
  inputs.push_back(mixed);
  for (const auto& in : inputs) {
    std::string quoted;
    sbx::append_json_string(quoted, in);
    std::size_t len = sbx::json_body_size(in);
    CHECK(len == quoted.size() - 2);
    std::string buf(len + 8, '?');  // the input ends where the body will
    std::memcpy(buf.data() + len - in.size(), in.data(), in.size());
    sbx::escape_json_body_in_place(buf.data(), buf.data() + len - in.size(), in.size());
    CHECK(buf.substr(0, len) == quoted.substr(1, len));
    CHECK(buf.substr(len) == "????????");
  }
}

namespace {

// The body escape_json_body_in_place writes for `in` (the reference).
std::string body_in_place(const std::string& in) {
  std::size_t len = sbx::json_body_size(in);
  std::string buf(len, '?');
  std::memcpy(buf.data() + len - in.size(), in.data(), in.size());
  sbx::escape_json_body_in_place(buf.data(), buf.data() + len - in.size(), in.size());
  return buf;
}

}  // namespace

TEST_CASE("JSON escaping agrees with the reference on varied inputs", "[json]") {
  std::mt19937 rng(20261126);
  // Byte pools: dense short lines, every byte value, UTF-8 text with strays.
  const std::vector<std::string> pools = {
      "0123456789\n\n\n",
      "",
      "ab \xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80\xC3\xFF\x80\"\\\t\x01",
  };
  std::string every_byte;
  for (int c = 0; c < 256; ++c) every_byte += static_cast<char>(c);
  std::vector<std::size_t> lengths;
  for (std::size_t n = 0; n <= 80; ++n) lengths.push_back(n);
  for (std::size_t n : {127, 128, 129, 4095, 4096, 4097, 8200, 70000}) lengths.push_back(n);
  for (std::size_t pool = 0; pool < pools.size(); ++pool) {
    const std::string& bytes = pool == 1 ? every_byte : pools[pool];
    for (std::size_t n : lengths) {
      std::string in;
      for (std::size_t k = 0; k < n; ++k) in += bytes[rng() % bytes.size()];
      std::string prefix = "x";  // appends after what the string holds
      std::string out = prefix;
      sbx::append_json_string(out, in);
      INFO("pool " << pool << ", " << n << " bytes");
      REQUIRE(out.size() >= 3);
      CHECK(out.compare(0, 2, "x\"") == 0);
      CHECK(out.back() == '"');
      CHECK(out.substr(2, out.size() - 3) == body_in_place(in));
      CHECK_NOTHROW(nlohmann::json::parse(out.substr(1)));
      if (pool == 0) {  // plain ASCII: the unvalidated form is the same
        std::string unchecked;
        sbx::append_json_string_utf8(unchecked, in);
        CHECK(unchecked == out.substr(1));
      }
    }
  }
}

TEST_CASE("parse_json_lenient reads a lone surrogate escape as U+FFFD") {
  using sbx::parse_json_lenient;
  // JSON.stringify("a\ud800b") and friends.
  CHECK(parse_json_lenient(R"({"s":"a\ud800b"})")["s"] ==
        "a\xEF\xBF\xBD"
        "b");
  CHECK(parse_json_lenient(R"({"s":"\udc00"})")["s"] == "\xEF\xBF\xBD");
  CHECK(parse_json_lenient(R"({"s":"\ud83d"})")["s"] == "\xEF\xBF\xBD");
  CHECK(parse_json_lenient(R"({"s":"x\ud83d\ud83d\ude00"})")["s"] ==
        "x\xEF\xBF\xBD\xF0\x9F\x98\x80");
  // A pair stays one character; an escaped backslash is not an escape.
  CHECK(parse_json_lenient(R"({"s":"\ud83d\ude00"})")["s"] == "\xF0\x9F\x98\x80");
  CHECK(parse_json_lenient(R"({"s":"\\ud800","t":"\ud800"})")["s"] == "\\ud800");
  // Still not JSON.
  CHECK(parse_json_lenient(R"({"s":"\ud800)").is_discarded());
  CHECK(parse_json_lenient("{\"s\":\"\xff\"}").is_discarded());
}
