#pragma once
// The interpreter languages and the names the API accepts for them (API.md §10.1).
#include <array>
#include <optional>
#include <string_view>

namespace sbx::interp {

enum class language { python, javascript, typescript };

inline constexpr std::array<language, 3> all_languages{language::python, language::javascript,
                                                       language::typescript};

// Canonical name or an alias (python3; js, node; ts), case-insensitive.
// Anything else is not a language: callers reject it rather than guess.
std::optional<language> parse_language(std::string_view name);

// "python", "javascript", "typescript".
std::string_view language_name(language l);

inline std::size_t index_of(language l) {
  return static_cast<std::size_t>(l);
}

}  // namespace sbx::interp
