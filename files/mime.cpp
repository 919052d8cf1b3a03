#include "files/mime.hpp"

#include <fcntl.h>
#include <magic.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <deque>
#include <fstream>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

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
    const char* search = magic_getpath(nullptr, 0);
    std::string_view paths = search ? search : "";
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

// libmagic's answer depends only on the bytes it is given, and costs 3-5 ms
// for text whatever its length: recent answers are kept by a digest of those
// bytes, so reading an unchanged file again skips it.
class recent_answers {
 public:
  std::optional<std::string> find(const std::string& digest) {
    std::lock_guard lock(mutex_);
    auto it = answers_.find(digest);
    if (it == answers_.end()) return std::nullopt;
    return it->second;
  }
  void add(std::string digest, const std::string& mime) {
    std::lock_guard lock(mutex_);
    if (!answers_.emplace(digest, mime).second) return;
    order_.push_back(std::move(digest));
    if (order_.size() > k_capacity) {
      answers_.erase(order_.front());
      order_.pop_front();
    }
  }

 private:
  static constexpr std::size_t k_capacity = 512;
  std::mutex mutex_;
  std::unordered_map<std::string, std::string> answers_;
  std::deque<std::string> order_;
};

recent_answers& answers() {
  static recent_answers cache;
  return cache;
}

// Two independent 64-bit hashes and the length: a key that stands for the bytes.
std::string digest_of(std::string_view bytes) {
  // FNV-1a over 8-byte words (with a shift to mix high bits down), then the tail.
  std::uint64_t fnv = 14695981039346656037ULL;
  std::size_t i = 0;
  for (; i + 8 <= bytes.size(); i += 8) {
    std::uint64_t word;
    std::memcpy(&word, bytes.data() + i, 8);
    fnv = (fnv ^ word) * 1099511628211ULL;
    fnv ^= fnv >> 29;
  }
  for (; i < bytes.size(); ++i)
    fnv = (fnv ^ static_cast<unsigned char>(bytes[i])) * 1099511628211ULL;
  std::uint64_t std_hash = std::hash<std::string_view>{}(bytes);
  std::uint64_t size = bytes.size();
  std::string key(24, '\0');
  std::memcpy(key.data(), &fnv, 8);
  std::memcpy(key.data() + 8, &std_hash, 8);
  std::memcpy(key.data() + 16, &size, 8);
  return key;
}

// libmagic's answer for `bytes` (its thread's handle).
std::optional<std::string> magic_type(std::string_view bytes) {
  magic_t m = thread_magic();
  const char* type = m ? magic_buffer(m, bytes.data(), bytes.size()) : nullptr;
  if (!m) return std::nullopt;
  return type ? std::string(type) : std::string("application/octet-stream");
}

}  // namespace

std::string detect_mime(std::string_view head, bool file_is_empty) {
  if (file_is_empty || head.empty()) return "inode/x-empty";
  if (head.size() > k_sniff_bytes) head = head.substr(0, k_sniff_bytes);
  auto digest = digest_of(head);
  if (auto known = answers().find(digest)) return *known;
  auto mime = magic_type(head);
  if (!mime) return "application/octet-stream";
  answers().add(std::move(digest), *mime);
  return *mime;
}

bool may_be_long_json(std::string_view mime, std::string_view head, std::uint64_t file_size) {
  if (mime != "text/plain" || head.size() < k_sniff_bytes || file_size <= head.size()) return false;
  auto first = head.find_first_not_of(" \t\r\n");
  return first != std::string_view::npos && (head[first] == '{' || head[first] == '[');
}

std::string detect_mime_long(std::string_view content) {
  if (content.size() > k_json_sniff_bytes) content = content.substr(0, k_json_sniff_bytes);
  return magic_type(content).value_or("application/octet-stream");
}

bool is_text_mime(std::string_view mime) {
  return mime.starts_with("text/") || mime.find("json") != std::string_view::npos ||
         mime.find("xml") != std::string_view::npos ||
         mime.find("javascript") != std::string_view::npos ||
         mime.find("x-empty") != std::string_view::npos;
}

}  // namespace sbx::files
