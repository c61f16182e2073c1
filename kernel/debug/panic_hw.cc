#include "kernel/debug/panic_hw.h"

#include "kernel/arch/x86_64/cpu.h"
#include "kernel/arch/x86_64/idt.h"
#include "kernel/drivers/uart16550/console_hw.h"
#include "gdbstub/gdb_server_hw.h"
#include "kernel/debug/backtrace_hw.h"
#include "kernel/mm/memory_hw.h"
#include "kernel/sched/threads_hw.h"

namespace exo {
namespace {


// Page-fault error code bits (SDM Vol. 3A §4.7).
constexpr uint64_t kPfPresent = 1 << 0;
constexpr uint64_t kPfWrite = 1 << 1;
constexpr uint64_t kPfUser = 1 << 2;
constexpr uint64_t kPfReserved = 1 << 3;
constexpr uint64_t kPfFetch = 1 << 4;

// Register names for the exception report, three characters each.
// alignas(1): the element's alignment, not the ABI's 16 for arrays and aggregates (padding).
alignas(1) constexpr char kRegisterNames[] = "raxrbxrcxrdxrsirdirbprspr8 r9 r10r11r12r13r14";
static_assert(offsetof(TrapFrame, rax) == 14 * 8 && offsetof(TrapFrame, rbp) == 8 * 8
    && offsetof(TrapFrame, r8) == 7 * 8 && offsetof(TrapFrame, r14) == 1 * 8 && offsetof(TrapFrame, rsp) == 20 * 8);

// 1 while the first report is written. A fault inside it (in the formatter,
// the VGA mirror, the symbolizer, the gdb handover) gets a fixed line
// without any of those and halts; anything deeper halts at once, so a
// broken report never recurses into a triple fault.
constinit uint8_t g_panic_depth = 0;

// Returns for the first panic only; a nested one is reported here and halts.
void enter_panic(const char* what)
{
    uint8_t depth = ++g_panic_depth;
    if (depth == 1)
        return;
    if (depth == 2) {
        console::set_mirror(nullptr);
        console::puts("\nKERNEL PANIC while reporting a panic: ");
        console::puts(what);
        console::puts("\nsystem halted\n");
    }
    cpu::halt_forever();
}

// The report of both entry points; rip and rbp are their caller's, so the
// backtrace starts at the panic's call site.
[[noreturn]] void report_panic(const char* text, uint64_t rip, uint64_t rbp)
{
    cpu::cli();
    enter_panic(text);
    console::print("\nKERNEL PANIC: %s\n", text);
    console::puts("backtrace:\n");
    print_backtrace(console::sink(), rip, rbp);
    console::puts("system halted\n");
    cpu::halt_forever();
}

}  // namespace

void panic_message(const char* text)
{
    uint64_t rbp;
    asm volatile("mov %%rbp, %0" : "=r"(rbp));
    report_panic(text, reinterpret_cast<uint64_t>(__builtin_return_address(0)), rbp);
}

void panic_v(const char* fmt, FormatSig sig, ...)
{
    char text[160];
    EXO_DECODE_FORMAT_ARGS(sig, args, count);
    format_to_impl(text, sizeof text, fmt, args, count);
    uint64_t rbp;
    asm volatile("mov %%rbp, %0" : "=r"(rbp));
    report_panic(text, reinterpret_cast<uint64_t>(__builtin_return_address(0)), rbp);
}

void panic_exception(const TrapFrame& f)
{
    cpu::cli();
    enter_panic(idt::exception_name(f.vector));
    console::print("\nKERNEL PANIC: exception %u (%s), error code 0x%x\n", f.vector,
        idt::exception_name(f.vector), f.error_code);
    if (threads::started())
        console::print("in thread %u (%s)\n", threads::current().id, c_str(threads::current().name));
    if (f.vector == idt::vector::kPageFault) {
        uint64_t e = f.error_code;
        console::print("page fault at %p: %s, %s, %s%s%s\n", cpu::read_cr2(),
            (e & kPfPresent) ? "protection" : "not present",
            (e & kPfWrite) ? "write" : "read", (e & kPfUser) ? "user" : "kernel",
            (e & kPfFetch) ? ", instruction fetch" : "", (e & kPfReserved) ? ", reserved bit set" : "");
    }
    if (f.vector == idt::vector::kDoubleFault)
        console::print("double fault: likely a stack overflow (cr2 %p)\n",
            cpu::read_cr2());
    console::print("rip %p", f.rip);
    print_symbol(console::sink(), f.rip);
    // rax..r14, three to a line; TrapFrame holds r15..rax as words 0..14
    // (rsp is word 20).
    const auto* words = reinterpret_cast<const uint64_t*>(&f);
    for (int i = 0; i < 15; ++i) {
        int word = i == 7 ? 20 : 14 - i + (i > 7);
        console::print("%s%s %p", i % 3 == 0 ? "\n" : " ", FormatStr { kRegisterNames + 3 * i, 3 }, words[word]);
    }
    console::print("\nr15 %p rflags 0x%x cs 0x%x ss 0x%x\n", f.r15, f.rflags, f.cs, f.ss);
    console::print("cr0 0x%x cr2 %p cr3 %p cr4 0x%x\n", cpu::read_cr0(), cpu::read_cr2(),
        cpu::read_cr3(), cpu::read_cr4());
    console::puts("backtrace:\n");
    print_backtrace(console::sink(), f.rip, f.rbp);
    // With gdb attached (or gdb=panic) the crash is handed over for inspection.
    gdb_server::enter_from_panic(const_cast<TrapFrame&>(f));
    console::puts("system halted\n");
    cpu::halt_forever();
}

}  // namespace exo
