#pragma once
// Whole-file reads and writes hold buffers of many megabytes, each touched
// once. Backed by 4 KiB pages that is one page fault (and one page cleared)
// per 4 KiB, which costs more than the copy itself; huge pages cut that 512x.
#include <string>

namespace sbx {

// Reserves `bytes` in `s` and asks the kernel to back what is large enough
// with transparent huge pages. Call before the buffer is first written.
void reserve_large(std::string& s, std::size_t bytes);

}  // namespace sbx
