#include "files/json_body.hpp"

#include <cstdint>
#include <cstring>
#include <string>

#include "core/byte_scan.hpp"
#include "core/unicode.hpp"

namespace sbx::files {
namespace {

// Where an unescaped string goes: a string of its own (exact when there is
// no escape; at the first escape the rest of the body bounds it, as escapes
// only shorten text: one allocation whose untouched pages cost nothing)...
struct string_sink {
  std::string out;
  std::size_t bound = 0;
  void begin(std::size_t, std::size_t rest) { bound = rest; }
  void append(const char* p, std::size_t n) { out.append(p, n); }
  void put(char c) {
    if (out.capacity() < bound) out.reserve(bound);
    out += c;
  }
};

// ...or back into the body over the escaped text, which is never shorter.
struct in_place_sink {
  char* base;
  std::size_t start = 0;
  std::size_t w = 0;
  void begin(std::size_t at, std::size_t) { start = w = at; }
  void append(const char* p, std::size_t n) {
    if (base + w != p) std::memmove(base + w, p, n);
    w += n;
  }
  void put(char c) { base[w++] = c; }
};

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

  // A string literal starting at the current '"', unescaped into a new
  // string.
  std::optional<std::string> string() {
    string_sink sink;
    if (!string_into(sink)) return std::nullopt;
    return std::move(sink.out);
  }

  // The same, unescaped over its own escaped form inside the body (which
  // `base` points to); returns the unescaped extent.
  std::optional<std::pair<std::size_t, std::size_t>> string_in_place(char* base) {
    in_place_sink sink{base};
    if (!string_into(sink)) return std::nullopt;
    return std::pair{sink.start, sink.w - sink.start};
  }

  template <class Sink>
  bool string_into(Sink& out) {
    if (!eat('"')) return false;
    const std::size_t start = i_;
    out.begin(start, t_.size() - start);
    for (;;) {
      std::size_t run = i_;
      i_ = next_special(i_);
      if (i_ >= t_.size()) return false;
      char c = t_[i_];
      out.append(t_.data() + run, i_ - run);
      ++i_;
      if (c == '"') return true;
      if (c != '\\' || i_ >= t_.size()) return false;  // raw control character
      char e = t_[i_++];
      switch (e) {
        case '"':
        case '\\':
        case '/':
          out.put(e);
          break;
        case 'b':
          out.put('\b');
          break;
        case 'f':
          out.put('\f');
          break;
        case 'n':
          out.put('\n');
          break;
        case 'r':
          out.put('\r');
          break;
        case 't':
          out.put('\t');
          break;
        case 'u':
          if (!unicode_escape(out)) return false;
          break;
        default:
          return false;
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
  // Index of the first '"', '\\' or control character at or after i.
  std::size_t next_special(std::size_t i) const {
    return i + json_plain_prefix<false>(t_.data() + i, t_.size() - i);
  }

  std::optional<std::uint32_t> hex4() {
    if (i_ + 4 > t_.size()) return std::nullopt;
    std::uint32_t v = 0;
    for (int k = 0; k < 4; ++k) {
      int d = digit_value(t_[i_++]);
      if (d < 0) return std::nullopt;
      v = (v << 4) | static_cast<std::uint32_t>(d);
    }
    return v;
  }

  // A lone surrogate (JSON.stringify writes one as an escape when the string
  // holds it) becomes U+FFFD, as parse_json_lenient reads it.
  template <class Sink>
  bool unicode_escape(Sink& out) {
    auto cp = hex4();
    if (!cp) return false;
    if (*cp >= 0xD800 && *cp <= 0xDBFF) {
      std::optional<std::uint32_t> lo;
      if (i_ + 2 <= t_.size() && t_[i_] == '\\' && t_[i_ + 1] == 'u') {
        auto at = i_;
        i_ += 2;
        lo = hex4();
        if (!lo || *lo < 0xDC00 || *lo > 0xDFFF) {
          i_ = at;  // not its pair: read as an escape of its own
          lo.reset();
        }
      }
      *cp = lo ? 0x10000 + ((*cp - 0xD800) << 10) + (*lo - 0xDC00) : 0xFFFD;
    } else if (*cp >= 0xDC00 && *cp <= 0xDFFF) {
      *cp = 0xFFFD;
    }
    put_utf8(static_cast<char32_t>(*cp), [&out](char c) { out.put(c); });
    return true;
  }

  std::string_view t_;
  std::size_t i_ = 0;
};

}  // namespace

blob_parse parse_object_with_blob(std::string& text, std::string_view blob_member) {
  blob_parse r;
  scanner s(text);
  auto fail = [&r] {
    r.ok = false;
    r.object = nullptr;
    r.blob.reset();
    return std::move(r);
  };
  if (!s.eat('{')) return fail();
  r.object = nlohmann::json::object();
  if (s.eat('}')) {
    if (!s.at_end()) return fail();
    r.ok = true;
    return r;
  }
  for (;;) {
    auto key = s.string();
    if (!key || !s.eat(':')) return fail();
    if (s.peek() == '"' && *key == blob_member) {
      r.text_changed = true;
      auto extent = s.string_in_place(text.data());
      if (!extent) return fail();
      r.blob = std::span<char>(text.data() + extent->first, extent->second);
      r.object.erase(*key);  // the last duplicate wins
    } else if (s.peek() == '"') {
      auto value = s.string();
      if (!value) return fail();
      r.object[*key] = std::move(*value);
    } else {
      auto span = s.other_value();
      if (!span) return fail();
      auto value = nlohmann::json::parse(*span, nullptr, false);
      if (value.is_discarded()) return fail();
      r.object[*key] = std::move(value);
      if (*key == blob_member) r.blob.reset();  // the last duplicate wins
    }
    if (s.eat(',')) continue;
    if (s.eat('}')) break;
    return fail();
  }
  if (!s.at_end()) return fail();
  r.ok = true;
  return r;
}

}  // namespace sbx::files
