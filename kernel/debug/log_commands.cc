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

// Whether `word` occurs in text[0..n): `log grep`.
bool contains(const char* text, size_t n, const char* word)
{
    size_t w = __builtin_strlen(word);
    for (size_t i = 0; i + w <= n; ++i)
        if (__builtin_memcmp(text + i, word, w) == 0)
            return true;
    return false;
}

// In LogVerbosity order: the lowest level the console shows (errors always).
alignas(1) constexpr char kConsoleLevels[] = "warn\0info\0debug\0";

// `log level [LEVEL]`: which records the console echoes from now on (the
// ring keeps them all); the boot's `log=` option set the first value.
Result<void> log_level(CommandContext& ctx, int argc, const char* const* argv)
{
    if (argc == 3) {
        size_t i = name_index(kConsoleLevels, argv[2]);
        if (i == 3)
            return ctx.usage_error();
        klog_set_verbosity(static_cast<LogVerbosity>(i));
    }
    print(ctx, "console: %s and up\n", name_at(kConsoleLevels, static_cast<size_t>(klog_verbosity())));
    return {};
}

constexpr char kLogWords[] = "grep\0level\0";
void complete_log(Completions& out) { out.add_all(kLogWords); }

Result<void> cmd_log(CommandContext& ctx, int argc, const char* const* argv)
{
    // `log`, `log grep WORD`, `log level [LEVEL]`.
    size_t sub = argc > 1 ? name_index(kLogWords, argv[1]) : 0;
    if (argc > 1 && sub == 1 && !ctx.json())
        return log_level(ctx, argc, argv);
    if (argc != 1 && (sub != 0 || argc != 3))
        return ctx.usage_error();
    const char* grep = argc == 3 ? argv[2] : nullptr;
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
        if (grep && !contains(c.text, r.length, grep))
            continue;
        uint64_t us = r.timestamp > entry ? ticks_to_us(r.timestamp - entry, hz) : 0;
        list.row("[{:6u}.{:06u}{!seq}{!time_us}] {level:-5s} {text}\n", us / 1000000, us % 1000000, r.seq, us,
            log_level_name(r.level), FormatStr { c.text, static_cast<uint32_t>(r.length) });
    }
    return list.finish();
}

}  // namespace

EXO_SHELL_COMMAND(kLogCommand, "log", "log [--json] [grep WORD] | log level [warn|info|debug]",
    "kernel log", cmd_log, complete_log, 3);

}  // namespace exo
