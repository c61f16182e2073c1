// `log`: the kernel log ring, timestamped from the first instruction.
#include "kernel/boot/boot_sequence_hw.h"
#include "kernel/debug/klog_hw.h"
#include "kernel/drivers/pit8254/timer_hw.h"
#include "kernel/lib/tsc_math.h"
#include "shell/kernel_commands.h"

namespace exo {
namespace {

Result<void> cmd_log(CommandContext& ctx, int, const char* const*)
{
    const LogRing& ring = klog_ring();
    uint64_t hz = timer::tsc_hz();
    uint64_t entry = boot_sequence::tsc_entry();
    Listing list(ctx, "records");
    list.fields("{!dropped}", ring.dropped());
    list.open_items();
    ring.read_from(ring.first_seq(), [&](const LogRecord& r) {
        uint64_t us = r.timestamp > entry ? ticks_to_us(r.timestamp - entry, hz) : 0;
        list.row("[{:6u}.{:06u}{!seq}{!time_us}] {level:-5s} {text}\n", us / 1000000, us % 1000000, r.seq, us,
            log_level_name(r.level), FormatStr { r.text, r.length });
    });
    return list.finish();
}

}  // namespace

EXO_SHELL_COMMAND(kLogCommand, "log", "log [--json]", "the kernel log ring", cmd_log, nullptr, nullptr, 0);

}  // namespace exo
