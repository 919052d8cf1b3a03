#include "ports/proxy_headers.hpp"

#include <algorithm>
#include <cctype>
#include <cstdio>

#include "server/render.hpp"

namespace sbx::ports {
namespace {

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

bool istarts_with(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && iequals(s.substr(0, prefix.size()), prefix);
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Field names listed in every Connection header ("keep-alive, X-Foo").
std::vector<std::string_view> connection_options(const header_list& headers) {
  std::vector<std::string_view> names;
  for (const auto& [name, value] : headers) {
    if (!iequals(name, "Connection")) continue;
    std::string_view rest = value;
    while (!rest.empty()) {
      auto comma = rest.find(',');
      auto token = trim(rest.substr(0, comma));
      if (!token.empty()) names.push_back(token);
      rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
    }
  }
  return names;
}

bool is_hop_by_hop(std::string_view name) {
  static constexpr std::string_view k_names[] = {
      "Connection", "Keep-Alive", "TE", "Trailer", "Transfer-Encoding", "Upgrade", "Content-Length",
  };
  return std::any_of(std::begin(k_names), std::end(k_names),
                     [&](std::string_view n) { return iequals(n, name); }) ||
         istarts_with(name, "Proxy-");
}

void append(std::string& out, std::string_view name, std::string_view value) {
  out.append(name).append(": ").append(value).append("\r\n");
}

void append_framing(std::string& out, const body_framing& body) {
  switch (body.how) {
    case body_framing::kind::length_only:
    case body_framing::kind::length:
      append(out, "Content-Length", std::to_string(body.length));
      break;
    case body_framing::kind::chunked:
      append(out, "Transfer-Encoding", "chunked");
      break;
    case body_framing::kind::none:
    case body_framing::kind::until_close:
      break;
  }
}

}  // namespace

header_list end_to_end_headers(const header_list& headers) {
  auto named = connection_options(headers);
  header_list out;
  out.reserve(headers.size());
  for (const auto& h : headers) {
    if (is_hop_by_hop(h.first)) continue;
    if (std::any_of(named.begin(), named.end(),
                    [&](std::string_view n) { return iequals(n, h.first); }))
      continue;
    out.push_back(h);
  }
  return out;
}

std::string upstream_request_head(const upstream_request& r) {
  std::string out;
  out.reserve(1024);
  out.append(r.method).append(" ").append(r.target).append(" HTTP/1.1\r\n");
  append(out, "Host", "localhost:" + std::to_string(r.port));

  std::string original_host, forwarded_for, forwarded_host, forwarded_proto;
  for (const auto& [name, value] : end_to_end_headers(r.headers)) {
    if (iequals(name, "Host")) {
      original_host = value;
    } else if (iequals(name, "X-Forwarded-For")) {
      if (!forwarded_for.empty()) forwarded_for += ", ";
      forwarded_for += value;
    } else if (iequals(name, "X-Forwarded-Host")) {
      if (forwarded_host.empty()) forwarded_host = value;
    } else if (iequals(name, "X-Forwarded-Proto")) {
      if (forwarded_proto.empty()) forwarded_proto = value;
    } else {
      append(out, name, value);
    }
  }
  if (!r.client_address.empty()) {
    if (!forwarded_for.empty()) forwarded_for += ", ";
    forwarded_for += r.client_address;
  }
  if (!forwarded_for.empty()) append(out, "X-Forwarded-For", forwarded_for);
  if (forwarded_host.empty()) forwarded_host = original_host;
  if (!forwarded_host.empty()) append(out, "X-Forwarded-Host", forwarded_host);
  append(out, "X-Forwarded-Proto", forwarded_proto.empty() ? "http" : forwarded_proto);

  append_framing(out, r.body);
  if (!r.upgrade.empty()) {
    append(out, "Connection", "Upgrade");
    append(out, "Upgrade", r.upgrade);
  }
  // Otherwise HTTP/1.1's default, keep-alive: the connection may carry the
  // next request to this port.
  out.append("\r\n");
  return out;
}

std::string client_response_head(const client_response& r) {
  std::string out;
  out.reserve(1024);
  out.append("HTTP/1.1 ")
      .append(std::to_string(r.status))
      .append(" ")
      .append(r.reason)
      .append("\r\n");
  auto headers = end_to_end_headers(r.headers);
  for (const auto& [name, value] : headers) append(out, name, value);
  // Appended, never merged: a rebuilt header map would collapse repeated
  // fields such as Set-Cookie (Q42).
  for (const auto& [name, value] : http::k_cors_headers) {
    bool present = std::any_of(headers.begin(), headers.end(), [&](const auto& h) {
      return iequals(h.first, name) && h.second == value;
    });
    if (!present) append(out, name, value);
  }
  append_framing(out, r.body);
  if (!r.upgrade.empty()) {
    append(out, "Connection", "Upgrade");
    append(out, "Upgrade", r.upgrade);
  } else if (!r.keep_alive) {
    append(out, "Connection", "close");
  }
  out.append("\r\n");
  return out;
}

std::string chunk_size_line(std::size_t size) {
  char line[24];
  int n = std::snprintf(line, sizeof line, "%zx\r\n", size);
  return std::string(line, static_cast<std::size_t>(n));
}

}  // namespace sbx::ports
