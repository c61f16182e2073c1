// `log`: the kernel log ring, timestamped from the first instruction.
#include "kernel/arch/x86_64/cpu.h"
#include "kernel/boot/boot_sequence_hw.h"
#include "kernel/debug/klog_hw.h"
#include "kernel/drivers/pit8254/timer_hw.h"
#include "kernel/lib/tsc_math.h"
#include "shell/kernel_commands.h"

namespace exo {
namespace {

// One record copied out of the ring with interrupts off (the ring's lock):
// printing takes far longer, and any thread or IRQ that logs meanwhile may
// drop the oldest records under a reader that holds pointers into them.
struct RecordCopy {
    LogRecord record;
    char text[256];
};

bool copy_next(uint64_t& seq, RecordCopy& out)
{
    bool got = false;
    cpu::InterruptGuard guard;
    seq = klog_ring().read_from(seq, [&](const LogRecord& r) {
        out.record = r;
        out.record.length = r.length < sizeof out.text ? r.length : sizeof out.text;
        __builtin_memcpy(out.text, r.text, out.record.length);
        got = true;
        return LogVisit::Stop;
    });
    return got;
}

Result<void> cmd_log(CommandContext& ctx, int, const char* const*)
{
    uint64_t hz = timer::tsc_hz();
    uint64_t entry = boot_sequence::tsc_entry();
    Listing list(ctx, "records");
    list.fields("{!dropped}", klog_ring().dropped());
    list.open_items();
    // Up to the last record there now: lines logged while this prints wait
    // for the next `log` (a busy logger cannot keep it going forever).
    uint64_t seq = 0;
    uint64_t end = klog_ring().next_seq();
    RecordCopy c;
    while (seq < end && copy_next(seq, c)) {
        const LogRecord& r = c.record;
        uint64_t us = r.timestamp > entry ? ticks_to_us(r.timestamp - entry, hz) : 0;
        list.row("[{:6u}.{:06u}{!seq}{!time_us}] {level:-5s} {text}\n", us / 1000000, us % 1000000, r.seq, us,
            log_level_name(r.level), FormatStr { c.text, static_cast<uint32_t>(r.length) });
    }
    return list.finish();
}

}  // namespace

EXO_SHELL_COMMAND(kLogCommand, "log", "log [--json]",
    "kernel log", cmd_log, nullptr, 0);

}  // namespace exo
