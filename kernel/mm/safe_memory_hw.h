// Memory access for debuggers and the shell: check the page tables first,
// reject non-canonical addresses, and recover if the copy faults anyway.
// Writes go through the direct map's alias of the physical page, so kernel
// text stays read-only in its own mapping (breakpoints are written this way).
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "kernel/lib/result.h"

namespace exo::safe_memory {

// Installs the #PF and #GP fixups (boot task "safe-memory").
// Reads up to len bytes; a range crossing into unmapped memory yields the
// readable prefix. NotMapped if the first byte is unreadable.
Result<size_t> read(uint64_t addr, void* out, size_t len);
// Writes up to len bytes through the physical alias; same partial rules.
Result<size_t> write(uint64_t addr, const void* in, size_t len);
// That alias for the byte at addr: the direct map's view of its page, for
// kernel pages in RAM; NotMapped for user pages, MMIO and holes.
Result<uint8_t*> writable_alias(uint64_t addr);

}  // namespace exo::safe_memory
