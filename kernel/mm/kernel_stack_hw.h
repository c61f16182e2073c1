// Kernel thread stacks: each in its own slot of a reserved virtual region,
// backed by frames mapped RW NX, with an unmapped guard page below so an
// overflow faults (#PF -> #DF on its IST stack) instead of corrupting memory.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "kernel/lib/result.h"

namespace exo {

struct KernelStack {
    uint64_t base = 0;  // lowest usable address (the guard page is just below)
    uint64_t top = 0;   // initial stack pointer
    uint32_t slot = 0;  // kStaticSlot: memory the caller owns, never freed

    static constexpr uint32_t kStaticSlot = UINT32_MAX;
};

// 8 KiB: the deepest thread seen (the shell running `x ADDR 4096`, a 4 KiB
// buffer) stays under 6 KiB; `threads` shows each stack's high-water mark.
constexpr size_t kKernelStackPages = 2;
constexpr uint32_t kKernelStackSlots = 64;  // threads that can live at once
constexpr uint8_t kStackFillByte = 0x57;  // untouched-stack marker for high-water marks

// Fills `out` (left unchanged on an error): filled in place, not returned in a
// Result, so no struct copies. Busy when all kKernelStackSlots are in use.
Result<void> alloc_kernel_stack(KernelStack& out);
void free_kernel_stack(const KernelStack& stack);
// A stack in static storage (kKernelStackPages pages at `base`, guard page
// below it unmapped by kernel/mm), marked for the high-water scan.
KernelStack static_kernel_stack(uint8_t* base);
// Deepest use so far, by scanning for the fill pattern from the bottom.
size_t kernel_stack_used(const KernelStack& stack);

}  // namespace exo
