#include "interpreter/language.hpp"

#include <cctype>
#include <string>

namespace sbx::interp {

std::optional<language> parse_language(std::string_view name) {
  std::string lower;
  lower.reserve(name.size());
  for (char c : name) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (lower == "python" || lower == "python3") return language::python;
  if (lower == "javascript" || lower == "js" || lower == "node") return language::javascript;
  if (lower == "typescript" || lower == "ts") return language::typescript;
  return std::nullopt;
}

std::string_view language_name(language l) {
  switch (l) {
    case language::python:
      return "python";
    case language::javascript:
      return "javascript";
    case language::typescript:
      return "typescript";
  }
  return "python";
}

}  // namespace sbx::interp
