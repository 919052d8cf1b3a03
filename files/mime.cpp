#include "files/mime.hpp"

#include <magic.h>

#include <memory>

namespace sbx::files {
namespace {

struct magic_closer {
  void operator()(magic_set* m) const { magic_close(m); }
};

// libmagic handles are not thread-safe: one per thread, loaded on first use.
magic_t thread_magic() {
  thread_local std::unique_ptr<magic_set, magic_closer> handle = [] {
    std::unique_ptr<magic_set, magic_closer> m(magic_open(MAGIC_MIME_TYPE | MAGIC_ERROR));
    if (m && magic_load(m.get(), nullptr) != 0) m.reset();
    return m;
  }();
  return handle.get();
}

}  // namespace

std::string detect_mime(std::string_view head, bool file_is_empty) {
  if (file_is_empty || head.empty()) return "inode/x-empty";
  if (head.size() > k_sniff_bytes) head = head.substr(0, k_sniff_bytes);
  magic_t m = thread_magic();
  const char* type = m ? magic_buffer(m, head.data(), head.size()) : nullptr;
  return type ? std::string(type) : std::string("application/octet-stream");
}

bool is_text_mime(std::string_view mime) {
  return mime.starts_with("text/") || mime.find("json") != std::string_view::npos ||
         mime.find("xml") != std::string_view::npos ||
         mime.find("javascript") != std::string_view::npos ||
         mime.find("x-empty") != std::string_view::npos;
}

}  // namespace sbx::files
