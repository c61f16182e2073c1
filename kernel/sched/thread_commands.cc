// `threads`: the scheduler's view of every thread.
#include "kernel/arch/x86_64/cpu.h"
#include "kernel/lib/tsc_math.h"
#include "shell/kernel_commands.h"
#include "kernel/sched/threads_hw.h"
#include "kernel/drivers/pit8254/timer_hw.h"

namespace exo {
namespace {

// What a thread waits for, by IpcOp for a blocked one (IpcOp::None: the
// only other wait queue is the serial input's readers), then sleeping, then
// not waiting at all.
alignas(1) constexpr char kWaits[] = "input\0send\0call\0receive\0reply\0sleep\0-\0";
static_assert(static_cast<int>(IpcOp::AwaitReply) == 4);

const char* wait_of(const Thread& t)
{
    if (t.state == ThreadState::Blocked)
        return name_at(kWaits, static_cast<size_t>(t.ipc.op));
    return name_at(kWaits, t.state == ThreadState::Sleeping ? 5 : 6);
}

Result<void> cmd_threads(CommandContext& ctx, int, const char* const*)
{
    Scheduler& s = threads::scheduler();
    uint64_t hz = timer::tsc_hz();
    Listing list(ctx, "threads");
    list.fields("{!switches}", s.switches());
    list.open_items();
    list.text("  id name             state     ring prio       cpu_us  switches  stack_B   of_B wait\n");
    cpu::InterruptGuard guard;  // the list is changed by spawn/exit
    for (Thread* t = s.first_thread(); t; t = Scheduler::next_thread(*t)) {
        auto* arch = static_cast<threads::ThreadArch*>(t->arch);
        uint64_t cpu_ticks = t->cpu_ticks;
        if (t == s.current() && arch)
            cpu_ticks += cpu::rdtsc() - arch->tsc_switched_in;
        bool own_stack = arch && t != &s.idle();  // idle runs on the boot stack
        size_t stack_used = own_stack ? kernel_stack_used(arch->stack) : 0;
        size_t stack_size = own_stack ? arch->stack.top - arch->stack.base : 0;
        list.row("{id:4u} {name:-16s} {state:-9s} {ring:4u} {priority:4u} {cpu_us:12u} {switches:9u} "
                 "{stack_used_bytes:8u} {stack_size_bytes:6u} {wait}\n",
            t->id, c_str(t->name), thread_state_name(t->state), static_cast<uint32_t>(t->ring), t->priority,
            ticks_to_us(cpu_ticks, hz), t->switches, stack_used, stack_size, wait_of(*t));
    }
    list.text("{:u} context switches, time slice {:u} ticks\n", s.switches(), s.slice_ticks());
    return list.finish();
}

}  // namespace

EXO_SHELL_COMMAND(kThreadsCommand, "threads", "threads [--json]",
    "threads: state, CPU time, stack use, wait", cmd_threads, nullptr, 0);

}  // namespace exo
