#include "ports/byte_tunnel.hpp"

#include <array>
#include <memory>

#include <boost/asio/write.hpp>

namespace sbx::ports {
namespace {

namespace beast = boost::beast;
namespace net = boost::asio;

constexpr std::size_t k_read_bytes = 64 * 1024;

class byte_tunnel : public std::enable_shared_from_this<byte_tunnel> {
 public:
  byte_tunnel(beast::tcp_stream client, beast::flat_buffer client_pending, beast::tcp_stream target,
              beast::flat_buffer target_pending, http::socket_budget::lease client_socket,
              http::socket_budget::lease target_socket)
      : client_(std::move(client)),
        target_(std::move(target)),
        client_socket_(std::move(client_socket)),
        target_socket_(std::move(target_socket)) {
    // Index 0 carries client bytes to the target, index 1 the other way.
    ways_[0] = {&client_, &target_, std::move(client_pending)};
    ways_[1] = {&target_, &client_, std::move(target_pending)};
  }

  void start() {
    pump(0);
    pump(1);
  }

 private:
  struct way {
    beast::tcp_stream* from = nullptr;
    beast::tcp_stream* to = nullptr;
    beast::flat_buffer pending;  // read from `from`, not yet written to `to`
    bool ended = false;
  };

  void pump(std::size_t i) {
    if (closed_) return;
    auto& w = ways_[i];
    if (w.pending.size() > 0) {
      net::async_write(*w.to, w.pending.data(),
                       [self = shared_from_this(), i](beast::error_code ec, std::size_t n) {
                         self->ways_[i].pending.consume(n);
                         if (ec) return self->close();
                         self->pump(i);
                       });
      return;
    }
    w.from->async_read_some(w.pending.prepare(k_read_bytes),
                            [self = shared_from_this(), i](beast::error_code ec, std::size_t n) {
                              auto& w = self->ways_[i];
                              w.pending.commit(n);
                              if (ec == net::error::eof) return self->end(i);
                              if (ec) return self->close();
                              self->pump(i);
                            });
  }

  // `from` sent its last byte: let `to` see the end too, and stop when both
  // directions have ended.
  void end(std::size_t i) {
    auto& w = ways_[i];
    w.ended = true;
    beast::error_code ec;
    w.to->socket().shutdown(net::ip::tcp::socket::shutdown_send, ec);
    if (ways_[0].ended && ways_[1].ended) close();
  }

  void close() {
    if (closed_) return;
    closed_ = true;
    client_.close();
    target_.close();
  }

  beast::tcp_stream client_;
  beast::tcp_stream target_;
  http::socket_budget::lease client_socket_;
  http::socket_budget::lease target_socket_;
  std::array<way, 2> ways_;
  bool closed_ = false;
};

}  // namespace

void start_byte_tunnel(beast::tcp_stream client, beast::flat_buffer client_pending,
                       beast::tcp_stream target, beast::flat_buffer target_pending,
                       http::socket_budget::lease client_socket,
                       http::socket_budget::lease target_socket) {
  std::make_shared<byte_tunnel>(std::move(client), std::move(client_pending), std::move(target),
                                std::move(target_pending), std::move(client_socket),
                                std::move(target_socket))
      ->start();
}

}  // namespace sbx::ports
