#pragma once
// /api/read/stream (API.md §7.3): a file streamed from disk into an SSE
// channel in bounded chunks. The next chunk is read on the blocking pool
// only when the channel has room, so memory stays flat at any file size and
// a slow client slows the reads instead of filling memory.
#include <memory>
#include <string>

#include <boost/asio/thread_pool.hpp>

#include "files/file_service.hpp"
#include "server/sse.hpp"

namespace sbx::files {

// Raw bytes per chunk: a multiple of 3, so every binary chunk is
// independently decodable base64.
inline constexpr std::size_t k_stream_chunk_bytes = 65535;

// Sends `metadata`, the chunks and `complete` (or an `error` event), then
// closes the channel. Returns at once; the work runs on `pool`.
void stream_file(file_source src, std::shared_ptr<http::sse_channel> channel,
                 boost::asio::thread_pool& pool);

// A single `error` event, then the end of the stream.
void fail_stream(http::sse_channel& channel, const std::string& message);

}  // namespace sbx::files
