// SYSCALL/SYSRET set-up and the system call table (kernel/user/syscalls_hw.h).
#include "kernel/user/syscalls_hw.h"

#include "kernel/arch/x86_64/cpu.h"
#include "kernel/arch/x86_64/gdt.h"
#include "kernel/arch/x86_64/idt.h"
#include "kernel/boot/boot_sequence_hw.h"
#include "kernel/debug/klog_hw.h"
#include "kernel/ipc/ipc_hw.h"
#include "kernel/mm/memory_hw.h"
#include "kernel/sched/threads_hw.h"
#include "kernel/drivers/pit8254/timer_hw.h"
#include "kernel/user/user_mode_hw.h"

extern "C" void syscall_entry();
extern "C" uint64_t syscall_kernel_rsp;

namespace exo::syscalls {
namespace {

// MSRs (Intel SDM Vol. 4, Table 2-2).
constexpr uint32_t kMsrStar = 0xC0000081;
constexpr uint32_t kMsrLstar = 0xC0000082;
constexpr uint32_t kMsrFmask = 0xC0000084;
constexpr uint64_t kEferSce = 1;
// Cleared on entry: IF (no interrupt before the stack switch), TF, DF, AC.
constexpr uint64_t kFmask = (1u << 9) | (1u << 8) | (1u << 10) | (1u << 18);

// The user program's samples arrive here: a kernel thread takes them, so
// the program exercises a real send (its exit line reports what it read).
constinit Endpoint g_sampler {};  // set up with the syscall MSRs
constinit Endpoint* const g_user_endpoints[] = { &g_sampler };
constinit BenchResult g_bench {};

void sampler_sink(void*)
{
    for (;;)
        (void)ipc::receive(g_sampler, kForever, nullptr);
}

Result<void> start_syscalls()
{
    cpu::wrmsr(cpu::msr::kEfer, cpu::rdmsr(cpu::msr::kEfer) | kEferSce);
    cpu::wrmsr(kMsrStar, (static_cast<uint64_t>(gdt::kUserBase) << 48) | (static_cast<uint64_t>(gdt::kKernelCode) << 32));
    cpu::wrmsr(kMsrLstar, reinterpret_cast<uint64_t>(&syscall_entry));
    cpu::wrmsr(kMsrFmask, kFmask);
    // The sink thread starts right after the prompt (start_sampler_sink).
    g_sampler.set_up("sampler");
    return ipc::register_endpoint(g_sampler);
}

int64_t sys_counters(uint64_t user_ptr)
{
    Counters c { timer::uptime_us(), memory::heap_stats().used_bytes, memory::frames_used(), timer::ticks() };
    if (!user_mode::copy_to(user_ptr, &c, sizeof c).ok())
        return kEFault;
    user_mode::note_sample(c);
    return 0;
}

int64_t sys_ipc_send(uint64_t index, uint64_t user_msg)
{
    if (index >= sizeof g_user_endpoints / sizeof g_user_endpoints[0])
        return kEInval;
    Message m;
    if (!user_mode::copy_from(&m, user_msg, sizeof m).ok())
        return kEFault;
    uint64_t deadline = timer::ticks() + timer::kTickHz;  // a second at most
    return ipc::send(*g_user_endpoints[index], m, deadline).ok() ? 0 : kEInval;
}

// A minute at most: a larger count (or one whose tick count would wrap)
// is refused, not slept on for ever.
constexpr uint64_t kMaxSleepMs = 60000;

int64_t sys_sleep(uint64_t ms)
{
    if (ms > kMaxSleepMs)
        return kEInval;
    return threads::sleep_ticks(ms * timer::kTickHz / 1000) ? 0 : kEInval;
}

// The bench program's figures: kept for `bench`, and in the caller's
// address space for the line its exit prints (one line per program, however
// often a hostile one reports).
int64_t bench_report(uint64_t min_ticks, uint64_t total_ticks, uint64_t calls)
{
    if (!calls)
        return kEInval;
    g_bench = { min_ticks, total_ticks, calls };
    user_mode::note_bench(g_bench);
    return 0;
}

}  // namespace

EXO_BOOT_TASK(kSyscallsTask, "syscalls", BootPhase::Essential, start_syscalls, "scheduler", "ipc", "gdt");

void set_kernel_stack(uint64_t rsp) { syscall_kernel_rsp = rsp; }

Result<void> start_sampler_sink()
{
    TRY_VOID(threads::spawn("sampler-sink", sampler_sink, nullptr, 2));
    return {};
}
BenchResult last_bench() { return g_bench; }
void clear_bench() { g_bench = {}; }

}  // namespace exo::syscalls

using namespace exo;

// Called from syscall_entry with interrupts off, on the thread's kernel stack.
extern "C" int64_t syscall_dispatch(uint64_t nr, uint64_t a0, uint64_t a1, uint64_t a2, uint64_t)
{
    switch (nr) {
    case syscalls::kExit: user_mode::exit_current(static_cast<int64_t>(a0));
    case syscalls::kNull: return 0;
    case syscalls::kCounters: return syscalls::sys_counters(a0);
    case syscalls::kIpcSend: return syscalls::sys_ipc_send(a0, a1);
    case syscalls::kSleep: return syscalls::sys_sleep(a0);
    case syscalls::kBenchReport:
        return syscalls::bench_report(a0, a1, a2);
    default: return syscalls::kENoSys;
    }
}

// From syscall_entry when the saved user RIP is not below 2^47: SYSRET
// would fault in ring 0 on the user's stack (Intel), so the thread ends as
// if its return had raised #GP.
extern "C" [[noreturn]] void syscall_bad_return(uint64_t rip)
{
    log_warn("user: sysret to %p refused", rip);
    user_mode::exit_current(-static_cast<int64_t>(idt::vector::kGeneralProtection) - 1000);
}
