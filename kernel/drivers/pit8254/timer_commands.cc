// `uptime`: time since the first instruction, from the PIT tick and the TSC,
// with the CMOS wall clock once `init rtc` has run.
#include "kernel/drivers/cmos_rtc/cmos_rtc.h"
#include "kernel/drivers/cmos_rtc/rtc_hw.h"
#include "kernel/drivers/pit8254/timer_hw.h"
#include "shell/kernel_commands.h"

namespace exo {
namespace {

Result<void> cmd_uptime(CommandContext& ctx, int, const char* const*)
{
    uint64_t us = timer::uptime_us();
    Result<int64_t> wall = rtc_clock::unix_now();  // after `init rtc`
    uint64_t s = us / 1000000;
    // The wall clock line (and "unix_time") only once the RTC is up: a
    // second record part, so the first template is not stored twice.
    Listing record(ctx, nullptr);
    record.fields("up {:u}:{:02u}:{:02u}.{:03u}{!uptime_us} ({ticks} timer ticks at {tick_hz} Hz)\n{!tsc_hz}",
        s / 3600, (s / 60) % 60, s % 60, (us / 1000) % 1000, us, timer::ticks(), timer::kTickHz, timer::tsc_hz());
    if (wall.ok()) {
        char date[rtc::kTextLength + 1];
        rtc::format(rtc::from_unix(wall.value()), date, sizeof date);
        record.fields("wall clock: {:s} UTC (CMOS RTC){!unix_time:d}\n", static_cast<const char*>(date),
            wall.value());  // a pointer: rtc::format NUL-terminated it
    }
    return record.finish();
}

}  // namespace

EXO_SHELL_COMMAND(kUptimeCommand, "uptime", "uptime [--json]",
    "time since boot", cmd_uptime, nullptr, 0);

}  // namespace exo
