// Register state saved by the interrupt stubs (interrupts.S), in stack order.
// The GDB stub reads and writes it, so its layout is fixed by static_asserts.
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace exo {

struct TrapFrame {
    uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
    uint64_t rbp, rdi, rsi, rdx, rcx, rbx, rax;
    uint64_t vector;
    uint64_t error_code;
    // Pushed by the CPU (SDM Vol. 3A §6.14.2, 64-bit mode stack frame).
    uint64_t rip, cs, rflags, rsp, ss;

    // The trap came from ring 3 (CPL, the low bits of the saved CS).
    bool from_user() const { return (cs & 3) == 3; }
};
static_assert(offsetof(TrapFrame, vector) == 15 * 8);
static_assert(sizeof(TrapFrame) == 22 * 8);

}  // namespace exo
