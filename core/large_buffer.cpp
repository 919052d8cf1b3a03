#include "core/large_buffer.hpp"

#include <sys/mman.h>

#include <cstdint>

namespace sbx {

namespace {
constexpr std::size_t k_huge_page = 2 * 1024 * 1024;
}

void reserve_large(std::string& s, std::size_t bytes) {
  s.reserve(bytes);
  if (s.capacity() < 2 * k_huge_page) return;
  // Only whole huge pages inside the allocation: the rest is not ours.
  auto begin = reinterpret_cast<std::uintptr_t>(s.data() + s.size());
  auto end = reinterpret_cast<std::uintptr_t>(s.data()) + s.capacity();
  begin = (begin + k_huge_page - 1) & ~(k_huge_page - 1);
  end &= ~(k_huge_page - 1);
  // Advice only: where huge pages are off or unavailable, nothing changes.
  if (end > begin) ::madvise(reinterpret_cast<void*>(begin), end - begin, MADV_HUGEPAGE);
}

}  // namespace sbx
