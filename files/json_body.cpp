#include "files/json_body.hpp"

#include <cstdint>
#include <cstring>
#include <string>

namespace sbx::files {
namespace {

class scanner {
 public:
  explicit scanner(std::string_view t) : t_(t) {}

  void skip_ws() {
    while (i_ < t_.size() && (t_[i_] == ' ' || t_[i_] == '\t' || t_[i_] == '\n' || t_[i_] == '\r'))
      ++i_;
  }
  bool eat(char c) {
    skip_ws();
    if (i_ < t_.size() && t_[i_] == c) return ++i_, true;
    return false;
  }
  bool at_end() {
    skip_ws();
    return i_ == t_.size();
  }
  char peek() {
    skip_ws();
    return i_ < t_.size() ? t_[i_] : '\0';
  }

  // A string literal starting at the current '"'.
  std::optional<std::string> string() {
    if (!eat('"')) return std::nullopt;
    const std::size_t start = i_;
    std::string out;
    for (;;) {
      std::size_t run = i_;
      i_ = next_special(i_);
      if (i_ >= t_.size()) return std::nullopt;
      char c = t_[i_];
      if (c == '"' && run == start) {  // no escapes: one exact allocation
        out.assign(t_.data() + run, i_ - run);
        ++i_;
        return out;
      }
      // Unescaping never lengthens, so the rest of the body bounds the
      // output: one allocation (untouched pages cost nothing), no regrowth.
      if (run == start) out.reserve(t_.size() - start);
      out.append(t_.data() + run, i_ - run);
      ++i_;
      if (c == '"') return out;
      if (c != '\\' || i_ >= t_.size()) return std::nullopt;  // raw control character
      char e = t_[i_++];
      switch (e) {
        case '"':
          out += '"';
          break;
        case '\\':
          out += '\\';
          break;
        case '/':
          out += '/';
          break;
        case 'b':
          out += '\b';
          break;
        case 'f':
          out += '\f';
          break;
        case 'n':
          out += '\n';
          break;
        case 'r':
          out += '\r';
          break;
        case 't':
          out += '\t';
          break;
        case 'u':
          if (!unicode_escape(out)) return std::nullopt;
          break;
        default:
          return std::nullopt;
      }
    }
  }

  // Extent of a non-string value (number, literal, object, array) for nlohmann.
  std::optional<std::string_view> other_value() {
    skip_ws();
    std::size_t start = i_;
    int depth = 0;
    while (i_ < t_.size()) {
      char c = t_[i_];
      if (c == '"') {
        if (depth == 0 || !string()) return std::nullopt;
        continue;
      }
      if (c == '{' || c == '[') ++depth;
      if (c == '}' || c == ']') {
        if (depth == 0) break;
        --depth;
      }
      if (c == ',' && depth == 0) break;
      ++i_;
    }
    if (depth != 0 || i_ == start) return std::nullopt;
    return t_.substr(start, i_ - start);
  }

 private:
  // Index of the first '"', '\\' or control character at or after i; eight
  // bytes at a time (SWAR) through the long runs of a file's text.
  std::size_t next_special(std::size_t i) const {
    constexpr std::uint64_t ones = 0x0101010101010101ULL;
    constexpr std::uint64_t highs = 0x8080808080808080ULL;
    auto has_zero = [](std::uint64_t x) { return (x - ones) & ~x & highs; };
    const char* p = t_.data();
    const std::size_t n = t_.size();
    for (; i + 8 <= n; i += 8) {
      std::uint64_t v;
      std::memcpy(&v, p + i, 8);
      std::uint64_t below_space = (v - ones * 0x20) & ~v & highs;
      if (below_space | has_zero(v ^ (ones * '"')) | has_zero(v ^ (ones * '\\'))) break;
    }
    for (; i < n; ++i) {
      auto c = static_cast<unsigned char>(p[i]);
      if (c == '"' || c == '\\' || c < 0x20) break;
    }
    return i;
  }

  std::optional<std::uint32_t> hex4() {
    if (i_ + 4 > t_.size()) return std::nullopt;
    std::uint32_t v = 0;
    for (int k = 0; k < 4; ++k) {
      char c = t_[i_++];
      v <<= 4;
      if (c >= '0' && c <= '9')
        v |= static_cast<std::uint32_t>(c - '0');
      else if (c >= 'a' && c <= 'f')
        v |= static_cast<std::uint32_t>(c - 'a' + 10);
      else if (c >= 'A' && c <= 'F')
        v |= static_cast<std::uint32_t>(c - 'A' + 10);
      else
        return std::nullopt;
    }
    return v;
  }

  bool unicode_escape(std::string& out) {
    auto cp = hex4();
    if (!cp) return false;
    if (*cp >= 0xD800 && *cp <= 0xDBFF) {
      if (i_ + 2 > t_.size() || t_[i_] != '\\' || t_[i_ + 1] != 'u') return false;
      i_ += 2;
      auto lo = hex4();
      if (!lo || *lo < 0xDC00 || *lo > 0xDFFF) return false;
      *cp = 0x10000 + ((*cp - 0xD800) << 10) + (*lo - 0xDC00);
    } else if (*cp >= 0xDC00 && *cp <= 0xDFFF) {
      return false;  // lone low surrogate
    }
    std::uint32_t c = *cp;
    if (c < 0x80) {
      out += static_cast<char>(c);
    } else if (c < 0x800) {
      out += static_cast<char>(0xC0 | (c >> 6));
      out += static_cast<char>(0x80 | (c & 0x3F));
    } else if (c < 0x10000) {
      out += static_cast<char>(0xE0 | (c >> 12));
      out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (c & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (c >> 18));
      out += static_cast<char>(0x80 | ((c >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (c & 0x3F));
    }
    return true;
  }

  std::string_view t_;
  std::size_t i_ = 0;
};

}  // namespace

std::optional<nlohmann::json> parse_object_fast(std::string_view text) {
  scanner s(text);
  if (!s.eat('{')) return std::nullopt;
  nlohmann::json obj = nlohmann::json::object();
  if (s.eat('}')) return s.at_end() ? std::optional(std::move(obj)) : std::nullopt;
  for (;;) {
    auto key = s.string();
    if (!key || !s.eat(':')) return std::nullopt;
    if (s.peek() == '"') {
      auto value = s.string();
      if (!value) return std::nullopt;
      obj[*key] = std::move(*value);
    } else {
      auto span = s.other_value();
      if (!span) return std::nullopt;
      auto value = nlohmann::json::parse(*span, nullptr, false);
      if (value.is_discarded()) return std::nullopt;
      obj[*key] = std::move(value);
    }
    if (s.eat(',')) continue;
    if (s.eat('}')) break;
    return std::nullopt;
  }
  if (!s.at_end()) return std::nullopt;
  return obj;
}

}  // namespace sbx::files
