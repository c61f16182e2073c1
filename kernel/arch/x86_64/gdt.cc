#include "kernel/arch/x86_64/gdt.h"

#include <stddef.h>

#include "kernel/lib/nobreak.h"

namespace exo::gdt {
namespace {

constexpr size_t kPage = 4096;
constexpr size_t kIstStackSize = 8192;
// The debugger's own frames (stop loop, `monitor` commands) stay above this
// depth on the #DB/#BP stack; a trap it takes itself runs below it.
constexpr size_t kDebugNestDepth = 5120;

struct [[gnu::packed]] Tss {
    uint32_t reserved0;
    uint64_t rsp[3];
    uint64_t reserved1;
    uint64_t ist[7];
    uint64_t reserved2;
    uint16_t reserved3;
    uint16_t iomap_base;
};
static_assert(sizeof(Tss) == 104);

struct [[gnu::packed]] DescriptorPointer {
    uint16_t limit;
    uint64_t base;
};

// Access bytes / flags for flat 64-bit segments (SDM Vol. 3A §3.4.5).
constexpr uint64_t kCode64Kernel = 0x00AF9A000000FFFF;
constexpr uint64_t kDataKernel = 0x00CF92000000FFFF;
constexpr uint64_t kDataUser = 0x00CFF2000000FFFF;
constexpr uint64_t kCode64User = 0x00AFFA000000FFFF;
constexpr uint64_t kTssAvailable = 0x89;

struct alignas(kPage) GuardedStack {
    uint8_t guard[kPage];
    uint8_t stack[kIstStackSize];
};

// Boot-only invariant: written once by init() on the boot CPU, then read by
// the CPU itself (TR, GDTR). rsp0 changes only with interrupts off.
// The TSS four bytes into an 8-aligned block, so that rsp0 and the IST
// slots (written at every switch and debugger entry) are 8-aligned: QEMU
// 7.2's TCG takes a misaligned store to a page holding a watchpoint for a
// hit on it, and gdb saw a watchpoint near g_tss fire on every switch.
struct alignas(8) AlignedTss {
    uint32_t pad;
    Tss tss;
};
constinit AlignedTss g_aligned_tss {};
Tss& g_tss = g_aligned_tss.tss;
// Slot 3: the unused 32-bit user code slot of the SYSRET layout; 6-7: the TSS, set by init().
constinit uint64_t g_gdt[8] { 0, kCode64Kernel, kDataKernel, 0, kDataUser, kCode64User, 0, 0 };
[[gnu::section(".bss.stacks")]] constinit GuardedStack g_ist_stacks[3] {};
constinit GuardedStackInfo g_stack_info[3] {};

}  // namespace

void init()
{
    const char* names[3] = { "ist-fault", "ist-nmi", "ist-debug" };
    for (int i = 0; i < 3; ++i) {
        uint64_t top = reinterpret_cast<uint64_t>(g_ist_stacks[i].stack + kIstStackSize);
        g_tss.ist[i] = top;
        g_stack_info[i] = { reinterpret_cast<uint64_t>(g_ist_stacks[i].guard), top, names[i] };
    }
    g_tss.iomap_base = sizeof(Tss);  // no I/O permission bitmap

    uint64_t base = reinterpret_cast<uint64_t>(&g_tss);
    uint64_t limit = sizeof(Tss) - 1;
    g_gdt[6] = (limit & 0xFFFF) | ((base & 0xFFFFFF) << 16) | (kTssAvailable << 40)
        | (((limit >> 16) & 0xF) << 48) | (((base >> 24) & 0xFF) << 56);
    g_gdt[7] = base >> 32;

    DescriptorPointer ptr { sizeof(g_gdt) - 1, reinterpret_cast<uint64_t>(g_gdt) };
    asm volatile(
        "lgdt %0\n"
        "pushq %1\n"
        "leaq 1f(%%rip), %%rax\n"
        "pushq %%rax\n"
        "lretq\n"
        "1:\n"
        "movw %w2, %%ax\n"
        "movw %%ax, %%ds\n"
        "movw %%ax, %%es\n"
        "movw %%ax, %%ss\n"
        "xorl %%eax, %%eax\n"
        "movw %%ax, %%fs\n"
        "movw %%ax, %%gs\n"
        "ltr %w3\n"
        :
        : "m"(ptr), "i"(static_cast<uint64_t>(kKernelCode)), "r"(kKernelData), "r"(kTss)
        : "rax", "memory");
}

void set_kernel_stack(uint64_t rsp0) { g_tss.rsp[0] = rsp0; }

EXO_NOBREAK void nest_debug_stack(bool nested)
{
    g_tss.ist[kIstDebug - 1] = g_stack_info[kIstDebug - 1].top - (nested ? kDebugNestDepth : 0);
}

bool on_ist_stack(uint64_t address)
{
    return address - reinterpret_cast<uint64_t>(g_ist_stacks) < sizeof g_ist_stacks;
}

int guarded_stacks(const GuardedStackInfo** out)
{
    *out = g_stack_info;
    return 3;
}

}  // namespace exo::gdt
