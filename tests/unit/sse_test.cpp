#include <catch2/catch.hpp>

#include "server/sse.hpp"

using sbx::http::sse_channel;
using sbx::http::sse_frame;

TEST_CASE("frames are data lines with single-line JSON") {
  auto f = sse_frame({{"type", "stdout"}, {"data", "a\nb"}});
  CHECK(f.rfind("data: ", 0) == 0);
  CHECK(f.substr(f.size() - 2) == "\n\n");
  CHECK(f.find('\n') == f.size() - 2);  // the newline in the data is escaped
}

TEST_CASE("invalid UTF-8 is replaced, not thrown") {
  std::string bad = "ok\xff\xfe";
  auto f = sse_frame({{"data", bad}});
  CHECK(f.find("\xEF\xBF\xBD") != std::string::npos);
}

TEST_CASE("channel delivers queued frames, then the end") {
  sse_channel ch;
  ch.send({{"n", 1}});
  ch.send({{"n", 2}});
  std::string got;
  bool ended = false;
  ch.pull([&](sse_channel::frame_list frames, bool end) {
    for (const auto& f : frames) got += f;
    ended = end;
  });
  CHECK(got == "data: {\"n\":1}\n\ndata: {\"n\":2}\n\n");
  CHECK_FALSE(ended);
  bool called = false;
  ch.pull([&](sse_channel::frame_list frames, bool end) {
    called = true;
    CHECK(frames.empty());
    CHECK(end);
  });
  CHECK_FALSE(called);  // waits for data or close
  ch.close();
  CHECK(called);
}

TEST_CASE("backpressure: producer parks until the consumer drains") {
  sse_channel ch(64);
  while (ch.writable()) ch.send({{"pad", std::string(10, 'x')}});
  bool resumed = false;
  ch.when_writable([&] { resumed = true; });
  CHECK_FALSE(resumed);
  ch.pull([](sse_channel::frame_list, bool) {});
  CHECK(resumed);
}

TEST_CASE("a producer waiting for the drain resumes when the consumer asks again") {
  sse_channel ch;
  ch.send({{"n", 1}});
  int resumed = 0;
  ch.when_drained([&] { ++resumed; });
  CHECK(resumed == 0);
  // Taking the frame is not enough: it still has to be written.
  ch.pull([](sse_channel::frame_list frames, bool) { CHECK(frames.size() == 1); });
  CHECK(resumed == 0);
  ch.pull([](sse_channel::frame_list, bool) {});
  CHECK(resumed == 1);
  // Already drained, with the consumer waiting: at once.
  ch.when_drained([&] { ++resumed; });
  CHECK(resumed == 2);
  // Cancelling releases a waiting producer.
  ch.send({{"n", 2}});
  ch.when_drained([&] { ++resumed; });
  CHECK(resumed == 2);  // the waiting consumer took the frame; not yet written
  ch.cancel();
  CHECK(resumed == 3);
}

TEST_CASE("cancel reaches the producer and stops sends") {
  sse_channel ch;
  bool cancelled = false;
  ch.on_cancel([&] { cancelled = true; });
  ch.cancel();
  CHECK(cancelled);
  CHECK_FALSE(ch.send({{"x", 1}}));
  bool late = false;
  ch.on_cancel([&] { late = true; });
  CHECK(late);
}

TEST_CASE("frames queued after the hand-off join it through take_queued") {
  sse_channel ch(64);
  sse_channel::frame_list handed;
  bool handed_end = true;
  ch.pull([&](sse_channel::frame_list frames, bool end) {
    handed = std::move(frames);
    handed_end = end;
  });
  ch.send({{"n", 1}});
  REQUIRE(handed.size() == 1);
  CHECK_FALSE(handed_end);
  // The producer goes on before the consumer got to run: a backlog over the
  // high-water mark, then the end.
  while (ch.writable()) ch.send({{"pad", std::string(10, 'x')}});
  bool resumed = false;
  ch.when_writable([&] { resumed = true; });
  ch.send({{"n", 2}});
  ch.close();
  bool end = false;
  ch.take_queued(handed, end);
  CHECK(end);
  CHECK(resumed);
  CHECK(handed.front() == "data: {\"n\":1}\n\n");
  CHECK(handed.back().find("data: {\"n\":2}\n\n") != std::string::npos);
  // Nothing left: a second take adds nothing.
  auto before = handed.size();
  ch.take_queued(handed, end);
  CHECK(handed.size() == before);
}
