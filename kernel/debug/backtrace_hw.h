// Frame-pointer backtraces with symbols: the panic report's, and the
// shell's `bt` for any thread.
#pragma once

#include <stdint.h>

#include "kernel/lib/format.h"

namespace exo {

// "  #n 0xADDR symbol+0xoff" lines from rip down the saved frame pointers
// starting at rbp. Follows only mapped, aligned kernel frames (never
// faults); a run of identical return addresses (a recursion) is one line.
void print_backtrace(const Sink& out, uint64_t rip, uint64_t rbp);

// " symbol+0xoff" for addr, nothing when no function holds it.
void print_symbol(const Sink& out, uint64_t addr);

}  // namespace exo
