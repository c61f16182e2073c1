// The system call interface for ring-3 programs (numbers and layouts shared
// with kernel/user/programs.S). Arguments RDI, RSI, RDX, R10; result RAX,
// negative values are -errno style error codes.
#pragma once

#include <stdint.h>

#include "kernel/lib/result.h"

namespace exo::syscalls {

enum Number : uint64_t {
    kExit = 0,          // (code): the thread ends
    kNull = 1,          // (): returns 0; the null-syscall benchmark
    kCounters = 2,      // (Counters* out): kernel counters copied to user memory
    kIpcSend = 3,       // (endpoint index, const Message* msg): send over IPC
    kSleep = 4,         // (milliseconds, at most 60000; more is -EINVAL)
    kBenchReport = 5,   // (min ticks, total ticks, calls): the bench program's result
    kCount,
};

constexpr int64_t kEFault = -14;   // a pointer outside the caller's user memory
constexpr int64_t kEInval = -22;
constexpr int64_t kENoSys = -38;

struct Counters {
    uint64_t uptime_us;
    uint64_t heap_used_bytes;
    uint64_t frames_used;
    uint64_t timer_ticks;
};
static_assert(sizeof(Counters) == 32);  // programs.S reserves 32 bytes

// MSRs for SYSCALL/SYSRET (boot task "syscalls").
void set_kernel_stack(uint64_t rsp);
// The kernel thread that keeps the user sampler's last message; started by
// the shell right after the prompt (no user program runs before a command).
Result<void> start_sampler_sink();

struct BenchResult {
    uint64_t min_ticks = 0;
    uint64_t total_ticks = 0;
    uint64_t calls = 0;  // 0: no report (yet)
};
BenchResult last_bench();
void clear_bench();

}  // namespace exo::syscalls
