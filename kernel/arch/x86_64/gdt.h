// Global descriptor table and task-state segment (Intel SDM Vol. 3A §3.4.5,
// §7.7 "Task Management in 64-bit Mode").
#pragma once

#include <stdint.h>

namespace exo::gdt {

// Selector layout chosen for SYSCALL/SYSRET: STAR[63:48] = kUserBase gives
// SS = base+8, CS = base+16 on return to ring 3.
constexpr uint16_t kKernelCode = 0x08;
constexpr uint16_t kKernelData = 0x10;
constexpr uint16_t kUserBase = 0x18;
constexpr uint16_t kUserData = 0x20 | 3;
constexpr uint16_t kUserCode = 0x28 | 3;
constexpr uint16_t kTss = 0x30;

// Interrupt stack table slots (1-based in the IDT gate). A machine check
// is fatal like a double fault and shares kIstDoubleFault. #DB and #BP get one of
// their own: a watchpoint firing at SYSCALL entry, before the kernel stack
// is loaded, must not push onto the user's stack.
constexpr uint8_t kIstDoubleFault = 1;
constexpr uint8_t kIstNmi = 2;
constexpr uint8_t kIstDebug = 3;

void init();
void set_kernel_stack(uint64_t rsp0);
// While the debugger runs on the #DB/#BP stack, a trap it takes itself must
// land below its frames, not on top of them: the IST slot moves down.
void nest_debug_stack(bool nested);

// Each IST stack sits above an unmapped guard page: its address range is
// reported so the memory manager leaves the guard out of the page tables.
struct GuardedStackInfo {
    uint64_t guard;   // virtual address of the 4 KiB guard page
    uint64_t top;     // initial stack pointer
    const char* name;
};
int guarded_stacks(const GuardedStackInfo** out);
// `address` is on one of the IST stacks (#DF, NMI, #MC handlers, guards
// included).
bool on_ist_stack(uint64_t address);

}  // namespace exo::gdt
