#pragma once
// result<T>: a value or an api_error. Services return it; handlers render it.
#include <utility>
#include <variant>

#include "core/error.hpp"

namespace sbx {

template <class T>
class result {
 public:
  result(T value) : v_(std::in_place_index<0>, std::move(value)) {}
  result(api_error error) : v_(std::in_place_index<1>, std::move(error)) {}

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() { return std::get<0>(v_); }
  const T& value() const { return std::get<0>(v_); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() { return value(); }
  api_error& error() { return std::get<1>(v_); }
  const api_error& error() const { return std::get<1>(v_); }

 private:
  std::variant<T, api_error> v_;
};

// For operations that return nothing but may fail.
struct unit {};
using status = result<unit>;
inline status ok_status() {
  return unit{};
}

}  // namespace sbx
