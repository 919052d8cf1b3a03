#pragma once
// MIME detection with libmagic (what `file --mime-type` uses) and the
// contract's text-vs-binary rule (API.md §7.1 step 4).
#include <cstddef>
#include <string>
#include <string_view>

namespace sbx::files {

// How many leading bytes detection looks at: enough for libmagic's tests,
// small enough that a 1 GB file costs the same as a 1 KB one.
inline constexpr std::size_t k_sniff_bytes = 64 * 1024;

// MIME type of content that starts with `head` (at most k_sniff_bytes are
// used). An empty file is "inode/x-empty", as `file` reports it.
std::string detect_mime(std::string_view head, bool file_is_empty);

// libmagic names JSON only when the whole value is in the bytes it looks at,
// and file(1) reads up to 7 MiB. So text that starts like JSON, and that the
// head alone calls text/plain, gets a second look at up to this many bytes.
inline constexpr std::size_t k_json_sniff_bytes = 7 * 1024 * 1024;

// Whether a file of `file_size` bytes whose head gave `mime` needs that look.
bool may_be_long_json(std::string_view mime, std::string_view head, std::uint64_t file_size);

// The type of `content` (up to k_json_sniff_bytes of it), uncached.
std::string detect_mime_long(std::string_view content);

// Text when the type starts with text/ or mentions json, xml, javascript or
// x-empty.
bool is_text_mime(std::string_view mime);

}  // namespace sbx::files
