#include "kernel/sched/threads_hw.h"

#include <new>

#include "kernel/arch/x86_64/cpu.h"
#include "kernel/arch/x86_64/gdt.h"
#include "kernel/boot/boot_sequence_hw.h"
#include "gdbstub/gdb_server_hw.h"
#include "kernel/debug/klog_hw.h"
#include "kernel/mm/memory_hw.h"
#include "kernel/user/syscalls_hw.h"
#include "kernel/debug/panic_hw.h"

extern "C" void context_switch(uint64_t* save_rsp, uint64_t next_rsp);
extern "C" void thread_trampoline();
extern "C" void boot_stack_bottom();
extern "C" void boot_stack_top();

namespace exo::threads {
namespace {

// The boot context becomes the idle thread: it runs kernel_main to the
// prompt, then halts whenever nothing else is ready. Its Thread is built by
// start_scheduler() in zero-filled storage: a constinit Thread (non-zero
// fields) would cost its whole size in .data file bytes.
union IdleStorage {
    constexpr IdleStorage()
        : raw {}
    {
    }
    char raw[sizeof(Thread)];
    Thread thread;
};
constinit IdleStorage g_idle_storage {};
Thread& g_idle = g_idle_storage.thread;
constinit ThreadArch g_idle_arch {};
constinit Scheduler g_scheduler {};  // bound to g_idle by start_scheduler()
// Reached through this pointer, set by start_scheduler() (nothing uses the
// scheduler before: every early caller checks started()). With the object's
// address as a constant, LTO specialises the scheduler's methods on it and
// every field access becomes a RIP-relative instruction.
constinit Scheduler* g_sched = nullptr;
constinit bool g_started = false;
constinit uint32_t g_next_id = 1;
// A thread that exited; freed by the next thread to run (never on its own stack).
constinit Thread* g_reap = nullptr;

void reap()
{
    Thread* dead = g_reap;
    if (!dead)
        return;
    g_reap = nullptr;
    auto* arch = static_cast<ThreadArch*>(dead->arch);
    (void)g_sched->release(*dead);
    free_kernel_stack(arch->stack);
    if (arch->heap_owned) {
        delete arch;
        delete dead;
    }
}

void do_switch(Switch s)
{
    if (!s)
        return;
    uint64_t now = cpu::rdtsc();
    auto* from = static_cast<ThreadArch*>(s.from->arch);
    auto* to = static_cast<ThreadArch*>(s.to->arch);
    g_sched->account(*s.from, now - from->tsc_switched_in);
    ++s.to->switches;
    to->tsc_switched_in = now;
    if (to->stack.top) {
        gdt::set_kernel_stack(to->stack.top);    // interrupts from ring 3
        syscalls::set_kernel_stack(to->stack.top);  // SYSCALL
    }
    // Kernel threads run on the kernel's tables, so a dying user space is
    // never left loaded on the CPU.
    uint64_t cr3 = to->cr3 ? to->cr3 : memory::kernel_page_table().root();
    if (cr3 != cpu::read_cr3())
        cpu::write_cr3(cr3);
    if (s.from->state == ThreadState::Dead)
        g_reap = s.from;
    context_switch(&from->saved_rsp, to->saved_rsp);
    reap();  // back on this thread: free whatever died on the way
}

Result<void> start_scheduler()
{
    Scheduler* sched = cpu::opaque(&g_scheduler);  // as in every later use
    g_sched = sched;
    sched->bind(*new (&g_idle) Thread(0, "idle", kPriorityLevels - 1));
    g_idle.arch = &g_idle_arch;
    g_idle_arch.stack.base = reinterpret_cast<uint64_t>(&boot_stack_bottom);
    g_idle_arch.stack.top = reinterpret_cast<uint64_t>(&boot_stack_top);
    g_idle_arch.tsc_switched_in = cpu::rdtsc();
    TRY_VOID(sched->start());
    g_started = true;
    return {};
}

}  // namespace

EXO_BOOT_TASK(kSchedulerTask, "scheduler", BootPhase::Essential, start_scheduler, "heap", "gdt");

// First code a new thread runs (from thread_trampoline, interrupts off).
extern "C" void thread_bootstrap(Thread* self)
{
    reap();
    cpu::sti();
    auto* arch = static_cast<ThreadArch*>(self->arch);
    arch->entry(arch->arg);
    exit_current();
}

extern "C" void thread_exit_current() { exit_current(); }

Result<Thread*> spawn(const char* name, Entry entry, void* arg, uint8_t priority)
{
    auto* arch = new ThreadArch {};
    auto* t = arch ? new Thread(0, name, priority) : nullptr;
    if (!t) {
        delete arch;
        return Error::NoMemory;
    }
    arch->heap_owned = true;
    Result<Thread*> started = start(*t, *arch, entry, arg);
    if (!started.ok()) {
        delete t;
        delete arch;
    }
    return started;
}

Result<Thread*> start(Thread& thread, ThreadArch& thread_arch, Entry entry, void* arg)
{
    Thread* t = &thread;
    ThreadArch* arch = &thread_arch;
    if (!arch->stack.top)
        TRY_VOID(alloc_kernel_stack(arch->stack));
    const KernelStack& stack = arch->stack;
    arch->entry = entry;
    arch->arg = arg;
    // Initial frame for context_switch: r15 r14 r13 r12 rbx rbp, then the
    // return address. r13 = bootstrap, r12 = its argument (see context_switch.S).
    auto* sp = reinterpret_cast<uint64_t*>(stack.top) - 8;
    sp[0] = 0;                                              // r15
    sp[1] = 0;                                              // r14
    sp[2] = reinterpret_cast<uint64_t>(&thread_bootstrap);  // r13
    sp[3] = reinterpret_cast<uint64_t>(t);                  // r12
    sp[4] = 0;                                              // rbx
    sp[5] = 0;                                              // rbp
    sp[6] = reinterpret_cast<uint64_t>(&thread_trampoline); // return address
    sp[7] = 0;                                              // keeps the entry call 16-byte aligned
    arch->saved_rsp = reinterpret_cast<uint64_t>(sp);
    t->arch = arch;
    cpu::InterruptGuard guard;
    t->id = g_next_id++;
    if (Result<void> added = g_sched->add(*t); !added.ok()) {
        free_kernel_stack(stack);
        return added.error();
    }
    return t;
}

Scheduler& scheduler() { return *g_sched; }
Thread& current() { return *g_sched->current(); }
bool started() { return g_started; }

Result<void> block_current(WaitQueue& wq, uint64_t deadline)
{
    Thread& self = current();
    TRY_VOID(g_sched->block(wq, deadline));
    do_switch(g_sched->switch_to_next());
    return self.wait_result;
}

void switch_away() { do_switch(g_sched->switch_to_next()); }

bool sleep_ticks(uint64_t ticks)
{
    cpu::InterruptGuard guard;
    if (!g_sched->sleep_until(g_sched->now() + (ticks ? ticks : 1)).ok())
        return false;
    do_switch(g_sched->switch_to_next());
    return true;
}

void yield()
{
    cpu::InterruptGuard guard;
    g_sched->yield();
    do_switch(g_sched->switch_to_next());
}

void exit_current()
{
    cpu::cli();
    if (!g_sched->exit_current().ok())
        panic("thread '%s' cannot exit", c_str(current().name));
    do_switch(g_sched->switch_to_next());
    panic("a dead thread was resumed");
}

void on_tick(uint64_t ticks)
{
    // The verdict (slice used up, a sleeper woke) is read back by irq_exit.
    if (g_started)
        (void)g_sched->on_tick(ticks);
}

void irq_exit()
{
    if (!g_started || gdb_server::holding_cpu())
        return;  // gdb is single-stepping this thread: keep it on the CPU
    // A wakeup from this IRQ (input, IPC timeout) or a used-up time slice.
    if (g_sched->preemption_due()) {
        g_sched->yield();
        do_switch(g_sched->switch_to_next());
    }
}

}  // namespace exo::threads
