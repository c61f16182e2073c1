// Shell commands over the boot record: `boot` and `init`.
#include "kernel/arch/x86_64/cpu.h"
#include "kernel/boot/boot_sequence_hw.h"
#include "shell/kernel_commands.h"
#include "kernel/drivers/pit8254/timer_hw.h"

namespace exo {
namespace {

constexpr size_t kMaxListed = 32;

// Task indices in the order they ran; tasks that have not run come last, in
// declaration order.
size_t boot_order(const BootRunner& runner, uint16_t (&order)[kMaxListed])
{
    size_t n = runner.size() < kMaxListed ? runner.size() : kMaxListed;
    for (size_t i = 0; i < n; ++i)
        order[i] = static_cast<uint16_t>(i);
    auto key = [&](uint16_t i) {
        const BootRecord& r = runner.record(i);
        return r.tsc_start ? r.tsc_start : ~0ull;
    };
    for (size_t i = 1; i < n; ++i) {
        uint16_t v = order[i];
        size_t j = i;
        for (; j > 0 && key(order[j - 1]) > key(v); --j)
            order[j] = order[j - 1];
        order[j] = v;
    }
    return n;
}
// Out of line: cmd_boot's two calls each inlined it.
[[gnu::noinline]] uint64_t since_entry_ns(uint64_t tsc)
{
    return tsc ? timer::ticks_to_ns(tsc - boot_sequence::tsc_entry()) : 0;
}

// The original plan's view: each task, phase totals, the total, and what waits.
// Times show in text as microseconds with one decimal: a field carries the
// whole microseconds (text and JSON), a text-only {:u} after it the tenths.
Result<void> cmd_boot(CommandContext& ctx, int, const char* const*)
{
    const BootRunner& runner = boot_sequence::runner();
    uint64_t hz = timer::tsc_hz();
    uint64_t prompt_ns = since_entry_ns(boot_sequence::tsc_prompt());
    Listing list(ctx, "tasks");
    list.fields("TSC {:u}{!tsc_hz} kHz ({tsc_source}){!total_us}{!total_ns}{!degraded}\n", hz / 1000, hz,
        timer::tsc_source_name(timer::tsc_source()), prompt_ns / 1000, prompt_ns, runner.degraded());
    list.open_items();
    list.text("task         phase         start_us     dur_us  status    frames    heap_B\n");
    uint16_t order[kMaxListed];
    size_t n = boot_order(runner, order);
    for (size_t k = 0; k < n; ++k) {
        size_t i = order[k];
        const BootTask& t = runner.task(i);
        const BootRecord& r = runner.record(i);
        uint64_t start_ns = since_entry_ns(r.tsc_start);
        uint64_t dur_ns = r.ran() ? timer::ticks_to_ns(r.ticks()) : 0;
        // Deferred: ran in `init`, or waits for it.
        bool deferred = r.context == RunContext::Deferred || r.status == TaskStatus::Pending;
        list.row("{name:-12s} {phase:-10s} {start_us:9u}.{:u} {duration_us:8u}.{:u}{!duration_ns}  {status:-8s} "
                 "{frames:7d} {heap_bytes:9d}{:s}{!deferred}\n",
            t.name, boot_phase_name(t.phase), start_ns / 1000, start_ns % 1000 / 100, dur_ns / 1000,
            dur_ns % 1000 / 100, dur_ns, task_status_name(r.status), r.frames_delta, r.heap_delta,
            deferred ? "  (deferred)" : "", deferred);
    }
    // Phase totals follow the tasks: in JSON the object "phases" after the array.
    list.close_items();
    list.fields("{@phases}");
    for (uint8_t p = 0; p < kBootPhaseCount; ++p) {
        const char* name = boot_phase_name(static_cast<BootPhase>(p));
        uint64_t ns = timer::ticks_to_ns(runner.phase_ticks(static_cast<BootPhase>(p)));
        char tmpl[64];
        format_to(tmpl, sizeof tmpl, "%-9s total {%s_us:8u}.{:u} us\n", name, name);
        list.fields(tmpl, ns / 1000, ns % 1000 / 100);
    }
    list.fields("{@}");
    list.text("boot work, first instruction to prompt: {:u}.{:u} us{:s}\n", prompt_ns / 1000, prompt_ns % 1000 / 100,
        runner.degraded() ? " (DEGRADED: an essential task failed)" : "");
    bool pending = false;
    for (size_t i = 0; i < runner.size(); ++i) {
        if (runner.record(i).status == TaskStatus::Pending) {
            list.text(pending ? " {:s}" : "deferred: {:s}", runner.task(i).name);
            pending = true;
        }
    }
    list.text(pending ? " (run `init deferred`)\n" : "deferred: nothing pending\n");
    return list.finish();
}

void report_run(CommandContext& ctx, size_t i)
{
    const BootRunner& runner = boot_sequence::runner();
    const BootRecord& r = runner.record(i);
    uint64_t ns = r.ran() ? timer::ticks_to_ns(r.ticks()) : 0;
    print(ctx, "init %-11s %-8s %u.%u us, %d frames, %d heap bytes", runner.task(i).name, r.shown_status(),
        ns / 1000, ns % 1000 / 100, r.frames_delta, r.heap_delta);
    // The line's end, with why the task did not succeed (one print call).
    const char* tail = "\n";
    const char* why = nullptr;
    if (r.status == TaskStatus::Failed || r.status == TaskStatus::Absent) {
        tail = " (%s)\n";
        why = error_name(r.error);
    } else if (r.status == TaskStatus::Skipped) {
        tail = " (needs %s)\n";
        why = runner.task(r.blocked_by).name;
    }
    print(ctx, tail, why);
}

Result<void> cmd_init(CommandContext& ctx, int argc, const char* const* argv)
{
    if (argc != 2)
        return ctx.usage_error();
    BootRunner& runner = boot_sequence::runner();
    if (__builtin_strcmp(argv[1], "deferred") == 0) {
        // One bit per task (a bool array would be 16-byte aligned on the stack).
        uint32_t was_pending = 0;
        static_assert(kMaxListed <= 32);
        for (size_t i = 0; i < runner.size() && i < kMaxListed; ++i)
            was_pending |= uint32_t { runner.record(i).status == TaskStatus::Pending } << i;
        size_t ran = 0;
        {
            cpu::InterruptGuard guard;  // see boot_sequence::run_deferred_now
            ran = runner.run_deferred();
        }
        if (ran == 0) {
            print(ctx, "init: nothing pending; deferred init already done\n");
            return {};
        }
        for (size_t i = 0; i < runner.size() && i < kMaxListed; ++i) {
            if (was_pending >> i & 1)
                report_run(ctx, i);
        }
        return {};
    }
    Result<TaskStatus> r = Error::Busy;
    {
        cpu::InterruptGuard guard;
        r = runner.run_one(argv[1]);
    }
    if (!r.ok() && r.error() != Error::Busy)
        return ctx.fail(r.error(), r.error() == Error::NotFound ? "no such task" : error_name(r.error()), argv[1]);
    size_t i = runner.find(argv[1]).value();
    if (r.ok()) {
        report_run(ctx, i);
        return {};
    }
    // Not Pending: it ran already (whatever came of it), or runs right now.
    TaskStatus status = runner.record(i).status;
    print(ctx, status == TaskStatus::Running ? "init: %s is running\n" : "init: %s already ran (%s)\n", argv[1],
        task_status_name(status));
    return {};
}

// `init` completes to `deferred` and the names of pending tasks.
void complete_init(Completions& out)
{
    out.add("deferred");
    const BootRunner& runner = boot_sequence::runner();
    for (size_t i = 0; i < runner.size(); ++i) {
        if (runner.record(i).status == TaskStatus::Pending)
            out.add(runner.task(i).name);
    }
}

}  // namespace

EXO_SHELL_COMMAND(kBootCommand, "boot", "boot [--json]",
    "boot tasks: timing, status, memory", cmd_boot, nullptr, 0);
EXO_SHELL_COMMAND(kInitCommand, "init", "init deferred | init NAME", "run pending optional inits",
    cmd_init, complete_init, 1, Command::kNotInDebugger);

}  // namespace exo
