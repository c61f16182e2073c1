// `threads`: the scheduler's view of every thread.
#include "kernel/arch/x86_64/cpu.h"
#include "kernel/lib/tsc_math.h"
#include "shell/kernel_commands.h"
#include "kernel/sched/threads_hw.h"
#include "kernel/drivers/pit8254/timer_hw.h"

namespace exo {
namespace {

Result<void> cmd_threads(CommandContext& ctx, int, const char* const*)
{
    Scheduler& s = threads::scheduler();
    uint64_t hz = timer::tsc_hz();
    Listing list(ctx, "threads");
    list.fields("{!switches}", s.switches());
    list.open_items();
    list.text("  id name             state     ring prio       cpu_us  switches  stack_B\n");
    cpu::InterruptGuard guard;  // the list is changed by spawn/exit
    for (Thread* t = s.first_thread(); t; t = Scheduler::next_thread(*t)) {
        auto* arch = static_cast<threads::ThreadArch*>(t->arch);
        uint64_t cpu_ticks = t->cpu_ticks;
        if (t == s.current() && arch)
            cpu_ticks += cpu::rdtsc() - arch->tsc_switched_in;
        size_t stack_used = arch && t != &s.idle() ? kernel_stack_used(arch->stack) : 0;
        list.row("{id:4u} {name:-16s} {state:-9s} {ring:4u} {priority:4u} {cpu_us:12u} {switches:9u} "
                 "{stack_used_bytes:8u}\n",
            t->id, t->name, thread_state_name(t->state), static_cast<uint32_t>(t->ring), t->priority,
            ticks_to_us(cpu_ticks, hz), t->switches, stack_used);
    }
    list.text("{:u} context switches, time slice {:u} ticks\n", s.switches(), s.slice_ticks());
    return list.finish();
}

}  // namespace

EXO_SHELL_COMMAND(kThreadsCommand, "threads", "threads [--json]",
    "threads: state, CPU time, stack use", cmd_threads, nullptr, 0);

}  // namespace exo
