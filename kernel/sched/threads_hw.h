// Kernel threads: the binding of the pure Scheduler (kernel/sched/) to the
// CPU. Each thread has its own guarded stack; switches happen with
// interrupts off, either when a thread blocks or at the end of an IRQ when
// the scheduler says a better thread is ready (preemption by the PIT tick).
#pragma once

#include <stdint.h>

#include "kernel/lib/result.h"
#include "kernel/mm/kernel_stack_hw.h"
#include "kernel/sched/run_queue.h"
#include "kernel/sched/thread.h"

namespace exo {
struct UserSpace;  // kernel/user/user_mode_hw.h
}

namespace exo::threads {

using Entry = void (*)(void* arg);

// What the hardware side keeps per thread (Thread::arch points here).
struct ThreadArch {
    KernelStack stack;
    uint64_t saved_rsp = 0;
    uint64_t tsc_switched_in = 0;
    uint64_t cr3 = 0;  // address space; 0 = the kernel's
    UserSpace* user = nullptr;  // ring-3 threads: their address space (user_mode.cc)
    Entry entry = nullptr;
    void* arg = nullptr;
    bool heap_owned = false;  // spawn() allocated it and the Thread: freed when it dies
};

Result<Thread*> spawn(const char* name, Entry entry, void* arg, uint8_t priority = kDefaultPriority);
// The same with Thread and ThreadArch the caller owns (static storage: the
// shell's thread starts without touching the heap on the boot path). A
// stack already in arch.stack (static_kernel_stack) is used as it is.
Result<Thread*> start(Thread& thread, ThreadArch& arch, Entry entry, void* arg);
Scheduler& scheduler();
Thread& current();
bool started();

// Blocks the current thread on `wq` until woken or `deadline` (in timer
// ticks, kForever for none). Returns the wake result (Timeout, ...).
// Must be called with interrupts off; they stay off on return.
Result<void> block_current(WaitQueue& wq, uint64_t deadline);
void yield();
// Lets lower-priority threads run: the current thread sleeps `ticks` timer
// ticks (at least one). False when it may not sleep (the idle thread).
bool sleep_ticks(uint64_t ticks);
[[noreturn]] void exit_current();
// After an operation made the current thread wait (IPC): run someone else
// until it is woken. Interrupts must be off.
void switch_away();

// Called by the timer IRQ and at the end of every IRQ (trap_dispatch).
void on_tick(uint64_t ticks);
void irq_exit();

}  // namespace exo::threads
