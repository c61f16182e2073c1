#include "kernel/debug/panic_hw.h"

#include "kernel/arch/x86_64/cpu.h"
#include "kernel/arch/x86_64/idt.h"
#include "kernel/drivers/uart16550/console_hw.h"
#include "gdbstub/gdb_server_hw.h"
#include "kernel/debug/symbols_hw.h"

namespace exo {
namespace {

constexpr int kMaxFrames = 16;
constexpr uint64_t kKernelSpaceStart = 0xFFFF800000000000;

// Page-fault error code bits (SDM Vol. 3A §4.7).
constexpr uint64_t kPfPresent = 1 << 0;
constexpr uint64_t kPfWrite = 1 << 1;
constexpr uint64_t kPfUser = 1 << 2;
constexpr uint64_t kPfReserved = 1 << 3;
constexpr uint64_t kPfFetch = 1 << 4;

// A fault inside the report must not recurse forever.
constinit bool g_panicking = false;

void print_symbol(uint64_t addr)
{
    SymbolHit hit;
    if (symbolize(addr, hit))
        console::print(" %s+0x%x", hit.name, addr - hit.address);
}

}  // namespace

void print_backtrace(uint64_t rip, uint64_t rbp)
{
    console::print("backtrace:\n  #0  %p", rip);
    print_symbol(rip);
    console::puts("\n");
    for (int i = 1; i < kMaxFrames; ++i) {
        // Only follow frame pointers that stay in kernel space and are aligned:
        // a corrupt chain must not fault inside the report.
        if (rbp < kKernelSpaceStart || (rbp & 7))
            break;
        auto* frame = reinterpret_cast<const uint64_t*>(rbp);
        uint64_t ret = frame[1];
        if (ret < kKernelSpaceStart)
            break;
        console::print("  #%-2d %p", i, ret);
        print_symbol(ret - 1);
        console::puts("\n");
        rbp = frame[0];
    }
}

void panic_message(const char* text)
{
    cpu::cli();
    console::print("\nKERNEL PANIC: %s\n", text);
    if (!g_panicking) {
        g_panicking = true;
        uint64_t rbp;
        asm volatile("mov %%rbp, %0" : "=r"(rbp));
        print_backtrace(reinterpret_cast<uint64_t>(__builtin_return_address(0)), rbp);
    }
    console::puts("system halted\n");
    cpu::halt_forever();
}

void panic_exception(const TrapFrame& f)
{
    cpu::cli();
    bool nested = g_panicking;
    g_panicking = true;
    console::print("\nKERNEL PANIC: exception %u (%s), error code 0x%x\n", f.vector,
        idt::exception_name(f.vector), f.error_code);
    if (f.vector == idt::vector::kPageFault) {
        uint64_t e = f.error_code;
        console::print("page fault at %p: %s, %s, %s%s%s\n", cpu::read_cr2(),
            (e & kPfPresent) ? "protection violation" : "page not present",
            (e & kPfWrite) ? "write" : "read", (e & kPfUser) ? "user" : "kernel",
            (e & kPfFetch) ? ", instruction fetch" : "", (e & kPfReserved) ? ", reserved bit set" : "");
    }
    if (f.vector == idt::vector::kDoubleFault)
        console::print("double fault: most likely a kernel stack overflow into a guard page (cr2 %p)\n",
            cpu::read_cr2());
    console::print("rip %p", f.rip);
    print_symbol(f.rip);
    console::print("\nrax %p rbx %p rcx %p\n", f.rax, f.rbx, f.rcx);
    console::print("rdx %p rsi %p rdi %p\n", f.rdx, f.rsi, f.rdi);
    console::print("rbp %p rsp %p r8  %p\n", f.rbp, f.rsp, f.r8);
    console::print("r9  %p r10 %p r11 %p\n", f.r9, f.r10, f.r11);
    console::print("r12 %p r13 %p r14 %p\n", f.r12, f.r13, f.r14);
    console::print("r15 %p rflags 0x%x cs 0x%x ss 0x%x\n", f.r15, f.rflags, f.cs, f.ss);
    console::print("cr0 0x%x cr2 %p cr3 %p cr4 0x%x\n", cpu::read_cr0(), cpu::read_cr2(),
        cpu::read_cr3(), cpu::read_cr4());
    if (!nested)
        print_backtrace(f.rip, f.rbp);
    // With gdb attached (or gdb=panic) the crash is handed over for inspection.
    gdb_server::enter_from_panic(const_cast<TrapFrame&>(f));
    console::puts("system halted\n");
    cpu::halt_forever();
}

}  // namespace exo
