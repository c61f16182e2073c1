// Shell commands over the boot record: `boot` and `init`.
#include "kernel/arch/x86_64/cpu.h"
#include "kernel/lib/tsc_math.h"
#include "kernel/boot/boot_sequence_hw.h"
#include "shell/kernel_commands.h"
#include "kernel/drivers/pit8254/timer_hw.h"

namespace exo {
namespace {

uint64_t ns_of(uint64_t ticks) { return ticks_to_ns(ticks, timer::tsc_hz()); }

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
uint64_t since_entry_ns(uint64_t tsc) { return tsc ? ns_of(tsc - boot_sequence::tsc_entry()) : 0; }

Result<void> boot_json(CommandContext& ctx)
{
    const BootRunner& runner = boot_sequence::runner();
    JsonWriter json(ctx.out());
    begin_json(json);
    json.field_u64("tsc_hz", timer::tsc_hz());
    json.field_str("tsc_source", timer::tsc_source_name(timer::tsc_source()));
    uint64_t prompt_ns = since_entry_ns(boot_sequence::tsc_prompt());
    json.field_u64("total_us", prompt_ns / 1000);
    json.field_u64("total_ns", prompt_ns);
    json.field_bool("degraded", runner.degraded());
    json.begin_array("tasks");
    uint16_t order[kMaxListed];
    size_t n = boot_order(runner, order);
    for (size_t k = 0; k < n; ++k) {
        size_t i = order[k];
        const BootTask& t = runner.task(i);
        const BootRecord& r = runner.record(i);
        json.begin_object();
        json.field_str("name", t.name);
        json.field_str("phase", boot_phase_name(t.phase));
        json.field_u64("start_us", since_entry_ns(r.tsc_start) / 1000);
        json.field_u64("duration_us", r.ran() ? ns_of(r.ticks()) / 1000 : 0);
        json.field_u64("duration_ns", r.ran() ? ns_of(r.ticks()) : 0);
        json.field_str("status", task_status_name(r.status));
        json.field_bool("deferred", r.context == RunContext::Deferred);
        json.field_i64("frames", r.frames_delta);
        json.field_i64("heap_bytes", r.heap_delta);
        json.end_object();
    }
    json.end_array();
    json.begin_object("phases");
    for (uint8_t p = 0; p < kBootPhaseCount; ++p) {
        char key[24];
        format_to(key, sizeof key, "%s_us", boot_phase_name(static_cast<BootPhase>(p)));
        json.field_u64(key, ns_of(runner.phase_ticks(static_cast<BootPhase>(p))) / 1000);
    }
    json.end_object();
    return end_json(json);
}

// The original plan's view: each task, phase totals, the total, and what waits.
Result<void> cmd_boot(CommandContext& ctx, int, const char* const*)
{
    if (ctx.json())
        return boot_json(ctx);
    const BootRunner& runner = boot_sequence::runner();
    uint64_t hz = timer::tsc_hz();
    print(ctx, "TSC %u kHz (%s)\n", hz / 1000, timer::tsc_source_name(timer::tsc_source()));
    print(ctx, "%-12s %-10s %10s %10s  %-8s %7s %9s\n", "task", "phase", "start_us", "dur_us", "status", "frames",
        "heap_B");
    uint16_t order[kMaxListed];
    size_t n = boot_order(runner, order);
    for (size_t k = 0; k < n; ++k) {
        size_t i = order[k];
        const BootTask& t = runner.task(i);
        const BootRecord& r = runner.record(i);
        print(ctx, "%-12s %-10s ", t.name, boot_phase_name(t.phase));
        print_us(ctx, since_entry_ns(r.tsc_start), 10);
        print(ctx, " ");
        print_us(ctx, r.ran() ? ns_of(r.ticks()) : 0, 10);
        print(ctx, "  %-8s %7d %9d%s\n", task_status_name(r.status), r.frames_delta, r.heap_delta,
            r.context == RunContext::Deferred ? "  (deferred)" : "");
    }
    for (uint8_t p = 0; p < kBootPhaseCount; ++p) {
        print(ctx, "%-9s total ", boot_phase_name(static_cast<BootPhase>(p)));
        print_us(ctx, ns_of(runner.phase_ticks(static_cast<BootPhase>(p))), 10);
        print(ctx, " us\n");
    }
    print(ctx, "boot work, first instruction to prompt: ");
    print_us(ctx, since_entry_ns(boot_sequence::tsc_prompt()), 0);
    print(ctx, " us%s\n", runner.degraded() ? " (DEGRADED: an essential task failed)" : "");
    size_t pending = runner.count(TaskStatus::Pending);
    if (pending) {
        print(ctx, "deferred:");
        for (size_t i = 0; i < runner.size(); ++i) {
            if (runner.record(i).status == TaskStatus::Pending)
                print(ctx, " %s", runner.task(i).name);
        }
        print(ctx, " (run `init deferred`)\n");
    } else {
        print(ctx, "deferred: nothing pending\n");
    }
    return {};
}

void report_run(CommandContext& ctx, size_t i)
{
    const BootRunner& runner = boot_sequence::runner();
    const BootRecord& r = runner.record(i);
    print(ctx, "init %-10s %-8s ", runner.task(i).name, task_status_name(r.status));
    print_us(ctx, r.ran() ? ns_of(r.ticks()) : 0, 0);
    print(ctx, " us, %d frames, %d heap bytes", r.frames_delta, r.heap_delta);
    if (r.status == TaskStatus::Failed || r.status == TaskStatus::Absent)
        print(ctx, " (%s)", error_name(r.error));
    print(ctx, "\n");
}

Result<void> cmd_init(CommandContext& ctx, int argc, const char* const* argv)
{
    if (argc != 2)
        return ctx.usage_error();
    BootRunner& runner = boot_sequence::runner();
    if (__builtin_strcmp(argv[1], "deferred") == 0) {
        bool was_pending[kMaxListed] {};
        for (size_t i = 0; i < runner.size() && i < kMaxListed; ++i)
            was_pending[i] = runner.record(i).status == TaskStatus::Pending;
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
            if (was_pending[i])
                report_run(ctx, i);
        }
        return {};
    }
    Result<TaskStatus> r = Error::Busy;
    {
        cpu::InterruptGuard guard;
        r = runner.run_one(argv[1]);
    }
    if (!r.ok()) {
        if (r.error() == Error::Busy) {
            print(ctx, "init: %s already done\n", argv[1]);
            return {};
        }
        return ctx.fail(r.error(), r.error() == Error::NotFound ? "no such task" : error_name(r.error()), argv[1]);
    }
    report_run(ctx, runner.find(argv[1]).value());
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

EXO_SHELL_COMMAND(kBootCommand, "boot", "boot [--json]", "boot tasks with phase, start, duration, status and memory",
    cmd_boot, nullptr, nullptr, 0);
EXO_SHELL_COMMAND(kInitCommand, "init", "init deferred | init NAME", "run pending optional-phase inits now",
    cmd_init, nullptr, complete_init, 1);

}  // namespace exo
