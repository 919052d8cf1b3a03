#include "files/mime.hpp"

#include <fcntl.h>
#include <magic.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <memory>
#include <string>

namespace sbx::files {
namespace {

struct magic_closer {
  void operator()(magic_set* m) const { magic_close(m); }
};

// The compiled database, mapped once for all threads. A handle that loads it
// itself maps it again, and each mapping counts its ~8 MB in the daemon's RSS.
struct compiled_database {
  void* data = nullptr;
  std::size_t size = 0;
};

// Whether `path` holds a rule (libmagic reads it as text, so it cannot be
// shared as a compiled buffer); Debian's /etc/magic holds only comments.
bool has_rules(const std::string& path) {
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) {
    auto first = line.find_first_not_of(" \t");
    if (first != std::string::npos && line[first] != '#') return true;
  }
  return false;
}

const compiled_database& shared_database() {
  static const compiled_database db = [] {
    compiled_database d;
    // libmagic's own search path: "text:compiled" files, ".mgc" for compiled.
    std::string compiled;
    std::string_view paths = magic_getpath(nullptr, 0) ? magic_getpath(nullptr, 0) : "";
    while (!paths.empty()) {
      auto colon = paths.find(':');
      std::string path(paths.substr(0, colon));
      paths = colon == std::string_view::npos ? std::string_view() : paths.substr(colon + 1);
      if (::access((path + ".mgc").c_str(), R_OK) == 0) {
        if (!compiled.empty()) return d;  // two compiled files: let libmagic load them
        compiled = path + ".mgc";
      } else if (has_rules(path)) {
        return d;
      }
    }
    int fd = compiled.empty() ? -1 : ::open(compiled.c_str(), O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0) return d;
    if (::fstat(fd, &st) == 0 && st.st_size > 0) {
      // Writable and private: libmagic may byte-swap a foreign-endian file in place.
      void* p = ::mmap(nullptr, static_cast<std::size_t>(st.st_size), PROT_READ | PROT_WRITE,
                       MAP_PRIVATE, fd, 0);
      if (p != MAP_FAILED) d = {p, static_cast<std::size_t>(st.st_size)};
    }
    ::close(fd);
    return d;
  }();
  return db;
}

// libmagic handles are not thread-safe: one per thread, loaded on first use.
magic_t thread_magic() {
  thread_local std::unique_ptr<magic_set, magic_closer> handle = [] {
    std::unique_ptr<magic_set, magic_closer> m(magic_open(MAGIC_MIME_TYPE | MAGIC_ERROR));
    if (!m) return m;
    const auto& db = shared_database();
    void* buffers[] = {db.data};
    std::size_t sizes[] = {db.size};
    int rc =
        db.data ? magic_load_buffers(m.get(), buffers, sizes, 1) : magic_load(m.get(), nullptr);
    if (rc != 0) m.reset();
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
