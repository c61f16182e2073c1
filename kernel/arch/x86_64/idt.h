// Interrupt descriptor table: all 32 exception vectors and the 16 legacy
// IRQs (remapped to 32-47), SDM Vol. 3A §6.14.1.
#pragma once

#include <stdint.h>

#include "kernel/arch/x86_64/trap_frame.h"

namespace exo::idt {

constexpr uint8_t kIrqBase = 32;
constexpr uint8_t kIrqCount = 16;
constexpr uint8_t kSpuriousVector = 0xFF;

namespace vector {
constexpr uint8_t kDebug = 1;
constexpr uint8_t kNmi = 2;
constexpr uint8_t kBreakpoint = 3;
constexpr uint8_t kDoubleFault = 8;
constexpr uint8_t kGeneralProtection = 13;
constexpr uint8_t kPageFault = 14;
constexpr uint8_t kMachineCheck = 18;
}

void init();

using IrqHandler = void (*)(TrapFrame&);
void set_irq_handler(uint8_t irq, IrqHandler handler);

// A hook that may claim an exception before it becomes a panic (the GDB
// stub claims #DB and #BP, fault-safe copies claim #PF). Returns true if the
// frame was handled and execution may resume.
using ExceptionHook = bool (*)(TrapFrame&);
void set_exception_hook(uint8_t vector, ExceptionHook hook);

const char* exception_name(uint64_t vector);

}  // namespace exo::idt
