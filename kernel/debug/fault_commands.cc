// `fault`: deliberate kernel exceptions, to see the report a person would get.
#include "kernel/arch/x86_64/cpu.h"
#include "shell/kernel_commands.h"

namespace exo {
namespace {

// Runs the current thread's stack into its guard page: the #PF cannot push
// its frame on the dead stack, so the CPU raises #DF, which runs on its own
// IST stack and prints the report instead of triple-faulting.
constinit volatile bool g_keep_recursing = true;

[[gnu::noinline]] uint64_t overflow_stack(uint64_t depth)
{
    volatile uint8_t frame[256];
    frame[0] = static_cast<uint8_t>(depth);
    uint64_t below = g_keep_recursing ? overflow_stack(depth + 1) : 0;
    return below + frame[0];
}

// A hang as a bug makes one: interrupts off, spinning. Only the GDB stub's
// NMI path can stop it (gdb's Ctrl-C); clearing this flag from gdb
// (`set var g_spinning = 0`) lets the command return.
constinit volatile bool g_spinning = false;

alignas(1) constexpr char kFaultWords[] = "pagefault\0ud\0stack\0spin\0";
void complete_fault(Completions& out) { out.add_all(kFaultWords); }

// Deliberate faults, to see the exception report a person would get.
Result<void> cmd_fault(CommandContext& ctx, int argc, const char* const* argv)
{
    if (argc != 2)
        return ctx.usage_error();
    size_t which = name_index(kFaultWords, argv[1]);
    if (which == 0) {
        volatile uint64_t* unmapped = reinterpret_cast<volatile uint64_t*>(0xFFFF8FF000000000);
        *unmapped = 1;
    } else if (which == 1) {
        asm volatile("ud2");
    } else if (which == 2) {
        print(ctx, "%u\n", overflow_stack(0));
    } else if (which == 3) {
        ctx.out().puts("spinning with interrupts off\r\n");
        cpu::InterruptGuard guard;
        for (g_spinning = true; g_spinning;)
            cpu::pause();
    } else {
        return ctx.usage_error();
    }
    return {};
}

}  // namespace

EXO_SHELL_COMMAND(kFaultCommand, "fault", "fault pagefault|ud|stack|spin",
    "raise a kernel exception, or hang", cmd_fault, complete_fault, 1, Command::kNotInDebugger);

}  // namespace exo
