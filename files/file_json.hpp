#pragma once
// Success bodies of read and list-files, written straight into one string:
// these carry up to hundreds of megabytes of content or 100k entries, and a
// JSON DOM would copy all of it twice.
#include <string>
#include <vector>

#include "files/dir_walk.hpp"
#include "files/file_service.hpp"

namespace sbx::files {

// {success, path, content, timestamp, encoding, isBinary, mimeType, size}
std::string read_body(const std::string& path, const file_content& c);

// {success, path, files: [FileInfo], count, timestamp}
std::string list_body(const std::string& path, const std::vector<file_entry>& entries);

}  // namespace sbx::files
