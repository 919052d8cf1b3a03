#pragma once
// After a 101 Switching Protocols (WebSocket through /proxy): copies bytes both
// ways between the client and the target until both sides are done. Frames are
// not parsed; an end of stream on one side is passed on as a half close.
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>

#include "server/socket_budget.hpp"

namespace sbx::ports {

// `client_pending` / `target_pending`: bytes already read from that side and
// not yet delivered to the other (read past the HTTP heads). The leases are
// the two sockets' places in the socket budget, held while the tunnel lasts.
void start_byte_tunnel(boost::beast::tcp_stream client, boost::beast::flat_buffer client_pending,
                       boost::beast::tcp_stream target, boost::beast::flat_buffer target_pending,
                       http::socket_budget::lease client_socket,
                       http::socket_budget::lease target_socket);

}  // namespace sbx::ports
