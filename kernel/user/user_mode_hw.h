// Ring-3 threads: each runs the embedded user program (kernel/user/) in an
// address space of its own; user pointers are checked against that address
// space before the kernel touches them; a fault kills only that thread.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "kernel/arch/x86_64/trap_frame.h"
#include "kernel/lib/result.h"
#include "kernel/mm/page_table.h"
#include "kernel/sched/thread.h"
#include "kernel/user/syscalls_hw.h"

namespace exo {

struct UserSpace {
    PageTable tables;
    uint64_t code_phys = 0;
    uint64_t stack_phys = 0;
    uint64_t mode = 0;
    // The counters the program read (first and last): shown when it ends.
    syscalls::Counters first_sample {}, last_sample {};
    uint32_t samples = 0;
    syscalls::BenchResult bench {};  // its last null-syscall report
};

namespace user_mode {

enum class Program : uint64_t { Sampler = 0, BadPointer = 1, Fault = 2, Bench = 3, Trap = 4, Step = 5, Fuzz = 6 };
const char* program_name(Program p);

Result<Thread*> spawn(Program program);

// Copies between kernel memory and the current thread's user memory;
// InvalidArgument for anything not mapped user (and writable, for copy_to).
Result<void> copy_from(void* dst, uint64_t user_src, size_t n);
Result<void> copy_to(uint64_t user_dst, const void* src, size_t n);

// The current ring-3 thread read kernel counters (kept for its exit line).
void note_sample(const syscalls::Counters& c);
// ... and reported null-syscall timings (the same).
void note_bench(const syscalls::BenchResult& r);

// The current ring-3 thread ends (exit syscall, or a fault it caused).
[[noreturn]] void exit_current(int64_t code);
// Called for exceptions from ring 3: logs and kills the thread.
[[noreturn]] void kill_for_fault(const TrapFrame& frame);

}  // namespace user_mode
}  // namespace exo
