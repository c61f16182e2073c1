// `bench`: micro-benchmarks timed with the TSC, median and minimum over many
// iterations. These are the original plan's boot-time benchmark hook made
// callable: run them on an idle shell, they take the CPU while they run.
#include "kernel/arch/x86_64/cpu.h"
#include "kernel/lib/tsc_math.h"
#include "kernel/ipc/ipc_hw.h"
#include "kernel/mm/memory_hw.h"
#include "shell/kernel_commands.h"
#include "kernel/user/syscalls_hw.h"
#include "kernel/sched/threads_hw.h"
#include "kernel/drivers/pit8254/timer_hw.h"
#include "kernel/user/user_mode_hw.h"

namespace exo {
namespace {

constexpr size_t kSamples = 128;
constexpr uint64_t kScratchVirt = 0xFFFFFFFFBFF00000;  // unused, below the stack region

struct Figure {
    const char* name;
    uint64_t median_ns, min_ns;
};

// Times `op` kSamples times; `op` returns false to abort. One non-template
// copy: the kernel image is tight.
using BenchOp = bool (*)(void* ctx);
Figure measure(const char* name, BenchOp op, void* ctx)
{
    uint64_t ticks[kSamples];
    size_t n = 0;
    for (; n < kSamples; ++n) {
        uint64_t t0 = cpu::rdtsc();
        if (!op(ctx))
            break;
        ticks[n] = cpu::rdtsc() - t0;
    }
    for (size_t i = 1; i < n; ++i) {  // insertion sort: n is small
        uint64_t v = ticks[i];
        size_t j = i;
        for (; j > 0 && ticks[j - 1] > v; --j)
            ticks[j] = ticks[j - 1];
        ticks[j] = v;
    }
    uint64_t hz = timer::tsc_hz();
    return n ? Figure { name, ticks_to_ns(ticks[n / 2], hz), ticks_to_ns(ticks[0], hz) } : Figure { name, 0, 0 };
}

// The yield peer's countdown: static, not on cmd_bench's stack, because the
// peer may run (and read it) after cmd_bench has returned.
constinit volatile size_t g_yields_left = 0;

void yielder(void*)
{
    while (g_yields_left) {
        g_yields_left = g_yields_left - 1;
        threads::yield();
    }
}

Result<void> cmd_bench(CommandContext& ctx, int, const char* const*)
{
    Figure figs[5];
    figs[0] = measure("heap_alloc_free", [](void*) {
        void* p = memory::heap_alloc(64);  // the guarded entry points, as operator new uses
        memory::heap_free(p);
        return p != nullptr;
    }, nullptr);
    Result<uint64_t> frame = memory::alloc_frame();
    uint64_t phys = frame.value_or(0);
    figs[1] = measure("page_map_unmap", [](void* ctx) {
        uint64_t p = *static_cast<uint64_t*>(ctx);
        PageTable& pt = memory::kernel_page_table();
        cpu::InterruptGuard guard;
        return p && pt.map(kScratchVirt, p, PageSize::Size4K, PageFlags::Writable).ok() && pt.unmap(kScratchVirt).ok();
    }, &phys);
    if (phys)
        memory::free_frame(phys);
    figs[2] = measure("ipc_round_trip", [](void*) {
        Message m;
        return ipc::call(ipc::echo_endpoint(), m, kForever).ok();
    }, nullptr);
    // Two threads of the shell's priority yield to each other: one sample is
    // a switch there and one back.
    g_yields_left = kSamples + 1;
    Thread* peer = threads::spawn("bench-yield", yielder, nullptr, threads::current().priority).value_or(nullptr);
    figs[3] = measure("context_switch_pair", [](void* ctx) {
        threads::yield();
        return ctx && g_yields_left > 0;
    }, peer);
    g_yields_left = 0;
    threads::yield();  // the peer sees 0 and exits now, not at some later switch
    syscalls::clear_bench();
    bool user = user_mode::spawn(user_mode::Program::Bench).ok();
    // The program runs below the shell's priority: sleep so it gets the CPU.
    for (int waited = 0; user && !syscalls::last_bench().calls && waited < 100; ++waited)
        threads::sleep_ticks(1);
    syscalls::BenchResult b = syscalls::last_bench();
    figs[4] = { "null_syscall_mean", b.calls ? ticks_to_ns(b.total_ticks / b.calls, timer::tsc_hz()) : 0,
        b.calls ? ticks_to_ns(b.min_ticks, timer::tsc_hz()) : 0 };

    Listing list(ctx, "results");
    list.fields("benchmark                 median_ns       min_ns   (TSC, {samples} samples; TCG figures)\n{!tsc_hz}",
        kSamples, timer::tsc_hz());
    list.open_items();
    for (const Figure& f : figs)
        list.row("{name:-22s} {median_ns:12u} {min_ns:12u}\n", f.name, f.median_ns, f.min_ns);
    return list.finish();
}

}  // namespace

EXO_SHELL_COMMAND(kBenchCommand, "bench", "bench [--json]",
    "kernel micro-benchmarks", cmd_bench, nullptr, 0, Command::kNotInDebugger);

}  // namespace exo
