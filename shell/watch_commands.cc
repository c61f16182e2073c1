// `watch CMD MS`: any telemetry command repeated as a JSON feed (live plots).
#include "kernel/arch/x86_64/cpu.h"
#include "kernel/drivers/pit8254/timer_hw.h"
#include "kernel/drivers/uart16550/serial_input_hw.h"
#include "kernel/lib/tsc_math.h"
#include "kernel/sched/threads_hw.h"
#include "shell/command_table.h"
#include "shell/kernel_commands.h"
#include "shell/tokenizer.h"

namespace exo {
namespace {

// `watch CMD MS`: the feed for live plots. Repeats `CMD --json` until a key.
Result<void> cmd_watch(CommandContext& ctx, int argc, const char* const* argv)
{
    if (argc != 3)
        return ctx.usage_error();
    const CommandTable* table = ctx.table();
    // Only commands with a JSON form (not watch itself): checked before the
    // first sample, not answered with a usage error every period.
    const Command* target = table ? table->find(argv[1]) : nullptr;
    if (!target || !target->has_json())
        return ctx.fail(Error::NotFound, "no such command with a --json form", argv[1]);
    Result<uint64_t> ms = parse_u64(argv[2]);
    if (!ms.ok() || ms.value() < 10 || ms.value() > 60000)
        return ctx.fail(Error::InvalidArgument, "interval must be 10..60000 ms", argv[2]);
    uint64_t hz = timer::tsc_hz();
    if (!hz)
        return ctx.fail(Error::Busy, "TSC not calibrated yet, try again");
    uint64_t period = us_to_ticks(ms.value() * 1000, hz);
    const char* args[3] = { argv[1], "--json", nullptr };
    for (;;) {
        // Each sample a period after the last one started: never closer,
        // whatever a late wake-up, a kernel held by gdb or a slow command
        // did to the one before.
        uint64_t next = cpu::rdtsc() + period;
        (void)table->dispatch(ctx.out(), 2, args);
        // A key is looked for at least once per sample, and after every tick.
        for (;;) {
            if (serial_input::try_read().ok())
                return {};
            if (cpu::rdtsc() >= next)
                break;
            // A tick's sleep, not a halt: lower-priority threads (a user
            // program being watched) run meanwhile; a key waits <= 10 ms.
            threads::sleep_ticks(1);
        }
    }
}

}  // namespace

EXO_SHELL_COMMAND(kWatchCommand, "watch", "watch CMD MS",
    "`CMD --json` every MS ms until a key", cmd_watch, nullptr, 2, Command::kNotInDebugger);

}  // namespace exo
