#pragma once
// Files (API.md §7), done natively: no shell, byte-exact, no size cap.
// Every call blocks on disk I/O and must run on the blocking pool. Paths are
// given as the request gave them; relative ones resolve against the current
// directory of the named session. Errors carry the request's path.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"
#include "core/runtime.hpp"
#include "files/dir_walk.hpp"
#include "files/unique_fd.hpp"
#include "session/session_manager.hpp"

namespace sbx {

struct file_content {
  std::string content;   // the text itself, or base64
  std::string encoding;  // "utf-8" | "base64"
  bool is_binary = false;
  std::string mime_type;
  std::uint64_t size = 0;
};

// An open regular file, classified, ready to be streamed.
struct file_source {
  files::unique_fd fd;
  std::string mime_type;
  bool is_binary = false;
  std::uint64_t size = 0;
};

class file_service {
 public:
  explicit file_service(runtime& rt, session_manager& sessions);
  ~file_service();
  file_service(const file_service&) = delete;
  file_service& operator=(const file_service&) = delete;

  // Text files as UTF-8 (byte-exact), everything else, and everything when
  // `want_base64`, as base64. Text that is not valid UTF-8 cannot travel in
  // JSON as it is, so it is sent as base64 and flagged binary.
  result<file_content> read(const std::string& session, const std::string& path, bool want_base64);
  // Opens and classifies a file for /api/read/stream.
  result<file_source> open_source(const std::string& session, const std::string& path);

  // Replaces the file's content atomically (temp file, fsync, rename),
  // keeping the mode and owner of a file it replaces. Parents are not created.
  status write(const std::string& session, const std::string& path, std::string_view bytes);
  // Deletes a file or symlink; directories are refused.
  status remove(const std::string& session, const std::string& path);
  // mv semantics: onto an existing directory moves inside it; works across
  // filesystems. `operation` is files::ops::rename or files::ops::move.
  status move(const std::string& session, const std::string& from, const std::string& to,
              std::string_view operation);
  status make_directory(const std::string& session, const std::string& path, bool recursive);
  result<std::vector<files::file_entry>> list(const std::string& session, const std::string& path,
                                              const files::walk_options& opts);
  // Follows symlinks: a dangling link does not exist.
  result<bool> exists(const std::string& session, const std::string& path);

  // Ends everything this service started (daemon shutdown). Open streams
  // end when the transport cancels their channels.
  void shutdown();

 private:
  std::string resolve(const std::string& session, const std::string& path) const;

  runtime& rt_;
  session_manager& sessions_;
};

}  // namespace sbx
