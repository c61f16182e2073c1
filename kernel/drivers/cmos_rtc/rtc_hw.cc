// CMOS real-time clock: wall-clock date and time for `uptime` and the log.
#include "kernel/drivers/cmos_rtc/rtc_hw.h"

#include "kernel/arch/x86_64/cpu.h"
#include "kernel/arch/x86_64/port_io.h"
#include "kernel/drivers/drivers_hw.h"
#include "kernel/drivers/pit8254/timer_hw.h"

namespace exo::rtc_clock {
namespace {

// Set by the "rtc" task: the wall clock at one uptime instant; later reads
// add the uptime since, so the CMOS is read once (its reads are slow).
constinit bool g_valid = false;
constinit int64_t g_unix_at_read = 0;
constinit uint64_t g_uptime_us_at_read = 0;

Result<void> read_rtc()
{
    CmosRtc<X86PortIo> rtc { X86PortIo {} };
    RtcTime t = TRY(rtc.read());
    g_unix_at_read = rtc::unix_seconds(t);
    g_uptime_us_at_read = timer::uptime_us();
    g_valid = true;
    char text[24];
    rtc::format(t, text, sizeof text);
    driver_detail("rtc", "MC146818 at 0x70, read %s UTC", static_cast<const char*>(text));  // NUL-terminated
    return {};
}

}  // namespace

EXO_DRIVER_TASK(kRtcTask, "rtc", BootPhase::Optional, read_rtc, "pit");

Result<int64_t> unix_now()
{
    if (!g_valid)
        return Error::NotFound;
    return g_unix_at_read + static_cast<int64_t>((timer::uptime_us() - g_uptime_us_at_read) / 1000000);
}

}  // namespace exo::rtc_clock
