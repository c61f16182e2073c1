// `uptime`: time since the first instruction, from the PIT tick and the TSC,
// with the CMOS wall clock once `init rtc` has run.
#include "kernel/drivers/cmos_rtc/rtc_hw.h"
#include "kernel/drivers/pit8254/timer_hw.h"
#include "shell/kernel_commands.h"

namespace exo {
namespace {

Result<void> cmd_uptime(CommandContext& ctx, int, const char* const*)
{
    uint64_t us = timer::uptime_us();
    Result<int64_t> wall = rtc_clock::unix_now();  // after `init rtc`
    if (ctx.json()) {
        JsonWriter json(ctx.out());
        begin_json(json);
        json.field_u64("uptime_us", us);
        json.field_u64("ticks", timer::ticks());
        json.field_u64("tick_hz", timer::kTickHz);
        json.field_u64("tsc_hz", timer::tsc_hz());
        if (wall.ok())
            json.field_i64("unix_time", wall.value());
        return end_json(json);
    }
    uint64_t s = us / 1000000;
    print(ctx, "up %u:%02u:%02u.%03u (%u timer ticks at %u Hz)\n", s / 3600, (s / 60) % 60, s % 60,
        (us / 1000) % 1000, timer::ticks(), timer::kTickHz);
    if (wall.ok())
        print(ctx, "wall clock: %d seconds since 1970-01-01 UTC (CMOS RTC)\n", wall.value());
    return {};
}

}  // namespace

EXO_SHELL_COMMAND(kUptimeCommand, "uptime", "uptime [--json]", "time since the kernel's first instruction",
    cmd_uptime, nullptr, nullptr, 0);

}  // namespace exo
