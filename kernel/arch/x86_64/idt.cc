#include "kernel/arch/x86_64/idt.h"

#include <stddef.h>

#include "kernel/arch/x86_64/gdt.h"
#include "kernel/drivers/pic8259/pic_hw.h"
#include "kernel/debug/panic_hw.h"
#include "kernel/lib/names.h"
#include "kernel/lib/nobreak.h"
#include "kernel/sched/threads_hw.h"
#include "kernel/user/user_mode_hw.h"

extern "C" const char isr_stubs[];     // vector v at isr_stubs + 4 * v, for 0-47 (interrupts.S)
extern "C" const char isr_spurious[];  // vector 255

namespace exo::idt {
namespace {

struct [[gnu::packed]] Gate {
    uint16_t offset_low;
    uint16_t selector;
    uint8_t ist;
    uint8_t type_attr;
    uint16_t offset_mid;
    uint32_t offset_high;
    uint32_t reserved;
};
static_assert(sizeof(Gate) == 16);

struct [[gnu::packed]] IdtPointer {
    uint16_t limit;
    uint64_t base;
};

constexpr uint8_t kInterruptGate = 0x8E;  // present, DPL0, 64-bit interrupt gate
constexpr uint8_t kInterruptGateDpl3 = 0xEE;  // int3 from ring 3 allowed; IF cleared like the rest
constexpr size_t kExceptionCount = 32;

// Written by init() and the set_* functions during boot (interrupts off);
// read by the CPU and trap_dispatch.
constinit Gate g_idt[256] {};
constinit IrqHandler g_irq_handlers[kIrqCount] {};
constinit ExceptionHook g_exception_hooks[kExceptionCount] {};

void set_gate(uint8_t vector, uint64_t handler, uint8_t type, uint8_t ist)
{
    g_idt[vector] = Gate {
        static_cast<uint16_t>(handler & 0xFFFF), gdt::kKernelCode, ist, type,
        static_cast<uint16_t>((handler >> 16) & 0xFFFF), static_cast<uint32_t>(handler >> 32), 0,
    };
}

// Indexed by vector, packed for name_at (no table of pointers).
// Reserved vectors are "-" (exception_name says "reserved"). alignas(1):
// read byte by byte, so not the ABI's 16 for arrays (padding).
alignas(1) constexpr char kExceptionNames[] =
    "#DE divide error\0" "#DB debug\0" "NMI\0" "#BP breakpoint\0" "#OF overflow\0" "#BR bound range\0"
    "#UD invalid opcode\0" "#NM no FPU\0" "#DF double fault\0" "coprocessor overrun\0"
    "#TS invalid TSS\0" "#NP no segment\0" "#SS stack fault\0" "#GP general protection\0"
    "#PF page fault\0" "-\0" "#MF x87 FP\0" "#AC alignment\0" "#MC machine check\0"
    "#XM SIMD FP\0" "#VE virtualization\0" "#CP control flow\0" "-\0-\0-\0-\0-\0-\0"
    "#HV injection\0" "#VC VMM comm\0" "#SX security\0-";

}  // namespace

void init()
{
    for (uint8_t v = 0; v < 48; ++v) {
        uint8_t ist = 0;
        if (v == vector::kDoubleFault || v == vector::kMachineCheck)
            ist = gdt::kIstDoubleFault;
        else if (v == vector::kNmi)
            ist = gdt::kIstNmi;
        else if (v == vector::kDebug || v == vector::kBreakpoint)
            ist = gdt::kIstDebug;
        set_gate(v, reinterpret_cast<uint64_t>(isr_stubs) + 4 * v, v == vector::kBreakpoint ? kInterruptGateDpl3 : kInterruptGate, ist);
    }
    set_gate(kSpuriousVector, reinterpret_cast<uint64_t>(isr_spurious), kInterruptGate, 0);
    IdtPointer ptr { sizeof(g_idt) - 1, reinterpret_cast<uint64_t>(g_idt) };
    asm volatile("lidt %0" : : "m"(ptr));
}

void set_irq_handler(uint8_t irq, IrqHandler handler)
{
    if (irq < kIrqCount)
        g_irq_handlers[irq] = handler;
}

void set_exception_hook(uint8_t vector, ExceptionHook hook)
{
    if (vector < kExceptionCount)
        g_exception_hooks[vector] = hook;
}

const char* exception_name(uint64_t vector)
{
    if (vector >= kExceptionCount)
        return "interrupt";
    const char* name = name_at(kExceptionNames, vector);
    return *name != '-' ? name : "reserved";
}

}  // namespace exo::idt

extern "C" EXO_NOBREAK void trap_dispatch(exo::TrapFrame* frame)
{
    using namespace exo;
    uint64_t vector = frame->vector;
    if (vector < idt::kExceptionCount) {
        idt::ExceptionHook hook = idt::g_exception_hooks[vector];
        if (hook && hook(*frame))
            return;
        if (frame->from_user())
            user_mode::kill_for_fault(*frame);  // a user fault ends that thread only
        panic_exception(*frame);
    }
    if (vector == idt::kSpuriousVector)
        return;  // local APIC spurious interrupt: no EOI (SDM Vol. 3A §10.9)
    uint8_t irq = static_cast<uint8_t>(vector - idt::kIrqBase);
    if (irq >= idt::kIrqCount)
        return;
    if (pic::is_spurious(irq))
        return;
    if (idt::IrqHandler handler = idt::g_irq_handlers[irq])
        handler(*frame);
    pic::eoi(irq);
    // After the EOI, so the PIC keeps delivering while another thread runs.
    threads::irq_exit();
}
