#include "kernel/boot/boot_sequence_hw.h"

#include <new>

#include "kernel/arch/x86_64/cpu.h"
#include "gdbstub/gdb_server_hw.h"
#include "kernel/debug/klog_hw.h"
#include "kernel/debug/panic_hw.h"
#include "kernel/ipc/ipc_hw.h"
#include "kernel/mm/memory_hw.h"
#include "kernel/sched/threads_hw.h"
#include "kernel/user/syscalls_hw.h"

extern "C" const exo::BootTask __boot_tasks_start[];
extern "C" const exo::BootTask __boot_tasks_end[];
// cmake/gen_boot_graph.py's blob (empty in the first link stage), u32 words:
// count, the sum of the run addresses (low 32 bits), each task's requirement mask.
extern "C" const uint32_t __boot_graph_start[];
extern "C" const uint32_t __boot_graph_end[];

namespace exo::boot_sequence {
namespace {

constexpr size_t kMaxTasks = 32;

// Set up once by run_to_prompt() on the boot path; afterwards used by the
// shell thread only (the one consumer).
// Raw storage, constructed by the BootRunner: BootRecord's defaults are not
// all zero, so a constinit array would cost ~2 KiB of file bytes in .data.
alignas(BootRecord) constinit char g_record_storage[sizeof(BootRecord) * kMaxTasks] {};
alignas(BootRunner) constinit char g_runner_storage[sizeof(BootRunner)] {};
constinit BootRunner* g_runner = nullptr;
constinit uint64_t g_tsc_prompt = 0;

// The table was checked and its requirements resolved at build time
// (cmake/gen_boot_graph.py: a bad table fails the build); take them if the
// blob describes exactly this table. Checking the names here instead cost
// ~0.4 ms under TCG and ~850 bytes of image.
bool adopt_build_graph(size_t count)
{
    const uint32_t* g = __boot_graph_start;
    if (static_cast<size_t>(__boot_graph_end - g) != 2 + count || g[0] != count)
        return false;
    uint32_t sum = 0;
    for (size_t i = 0; i < count; ++i)
        sum += static_cast<uint32_t>(reinterpret_cast<uintptr_t>(__boot_tasks_start[i].run));
    return sum == g[1] && g_runner->adopt(g + 2, count).ok();
}

void on_critical_failure(const BootTask& task, Error error)
{
    panic("critical boot task '%s' failed: %s", task.name, error_name(error));
}

void on_event(const BootTask& task, const BootRecord& record)
{
    switch (record.status) {
    case TaskStatus::Failed:
        log_error("boot: %s failed: %s", task.name, error_name(record.error));
        break;
    case TaskStatus::Absent:
        // Not a failure, and with deferred=auto it would land after the prompt.
        log_debug("boot: %s absent", task.name);
        break;
    case TaskStatus::Skipped: {
        // One line, two levels: a failed requirement is worth a warning.
        bool failed = record.is_failure();
        klog(failed ? LogLevel::Warn : LogLevel::Debug, "boot: %s skipped (a requirement %s)", task.name,
            failed ? "failed" : "is absent");
        break;
    }
    default:
        break;
    }
}

}  // namespace

void run_to_prompt()
{
    size_t count = static_cast<size_t>(__boot_tasks_end - __boot_tasks_start);
    if (count > kMaxTasks)
        panic("%u boot tasks declared, room for %u", count, kMaxTasks);
    static constexpr BootProbes probes { cpu::rdtsc, memory::frames_used, memory::heap_used, on_critical_failure,
        on_event };  // static: copied once, into the runner
    auto* records = reinterpret_cast<BootRecord*>(g_record_storage);  // BootRunner constructs them
    // Through an opaque pointer: register-relative stores, not RIP-relative.
    g_runner = new (cpu::opaque(g_runner_storage)) BootRunner(__boot_tasks_start, count, records, probes);
    if (!adopt_build_graph(count))
        panic("stale boot task graph: %u tasks (rebuild)", count);
    (void)g_runner->run_phase(BootPhase::Critical);
    if (options().gdb == GdbMode::Wait)
        gdb_server::wait_for_attach();
    (void)g_runner->run_phase(BootPhase::Essential);
    (void)g_runner->mark_optional_pending();
    if (g_runner->degraded())
        log_warn("boot: an essential task failed: degraded");
}

BootRunner& runner() { return *g_runner; }

void run_deferred_now()
{
    // With interrupts off, no thread switch can land between two updates of
    // a task's record: the shell (another thread) reads them for `drivers`.
    size_t ran = 0;
    {
        cpu::InterruptGuard guard;
        ran = g_runner->run_deferred();
    }
    // Debug level: anything printed now would interleave with a program's
    // first command at the prompt.
    log_debug("boot: deferred=auto ran %u tasks", ran);
}
uint64_t tsc_prompt() { return g_tsc_prompt; }
void mark_prompt()
{
    if (!g_tsc_prompt)
        g_tsc_prompt = cpu::rdtsc();
}

void after_prompt()
{
    memory::release_boot_frames();  // nothing needs them before the prompt
    if (!ipc::start_echo_server().ok() || !syscalls::start_sampler_sink().ok())
        log_error("boot: cannot start IPC threads");
    // The echo server shares the shell's priority: let it reach its receive
    // (blocked, as `threads` shows it) before the shell takes a command.
    threads::yield();
}

}  // namespace exo::boot_sequence
