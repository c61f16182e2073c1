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
    JsonWriter& json = list.writer();
    if (ctx.json())
        json.field_u64("switches", s.switches());
    list.open_items();
    if (!ctx.json()) {
        print(ctx, "%4s %-16s %-9s %4s %4s %12s %9s %8s\n", "id", "name", "state", "ring", "prio", "cpu_us",
            "switches", "stack_B");
    }
    cpu::InterruptGuard guard;  // the list is changed by spawn/exit
    for (Thread* t = s.first_thread(); t; t = Scheduler::next_thread(*t)) {
        auto* arch = static_cast<threads::ThreadArch*>(t->arch);
        uint64_t cpu_ticks = t->cpu_ticks;
        if (t == s.current() && arch)
            cpu_ticks += cpu::rdtsc() - arch->tsc_switched_in;
        size_t stack_used = arch && t != &s.idle() ? kernel_stack_used(arch->stack) : 0;
        uint32_t ring = static_cast<uint32_t>(t->ring);
        if (ctx.json()) {
            json.begin_object();
            json.field_u64("id", t->id);
            json.field_str("name", t->name);
            json.field_str("state", thread_state_name(t->state));
            json.field_u64("ring", ring);
            json.field_u64("priority", t->priority);
            json.field_u64("cpu_us", ticks_to_us(cpu_ticks, hz));
            json.field_u64("switches", t->switches);
            json.field_u64("stack_used_bytes", stack_used);
            json.end_object();
        } else {
            print(ctx, "%4u %-16s %-9s %4u %4u %12u %9u %8u\n", t->id, t->name, thread_state_name(t->state), ring,
                t->priority, ticks_to_us(cpu_ticks, hz), t->switches, stack_used);
        }
    }
    if (!ctx.json())
        print(ctx, "%u context switches, time slice %u ticks\n", s.switches(), s.slice_ticks());
    return list.finish();
}

}  // namespace

EXO_SHELL_COMMAND(kThreadsCommand, "threads", "threads [--json]",
    "threads: id, name, state, ring, priority, CPU time, stack high-water mark", cmd_threads, nullptr, nullptr, 0);

}  // namespace exo
