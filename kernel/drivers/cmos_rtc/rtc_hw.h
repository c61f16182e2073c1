// Wall-clock time from the CMOS RTC (Optional task "rtc").
#pragma once

#include <stdint.h>

#include "kernel/drivers/cmos_rtc/cmos_rtc.h"
#include "kernel/lib/result.h"

namespace exo::rtc_clock {

// Seconds since 1970-01-01 UTC; NotFound until the "rtc" task has run.
Result<int64_t> unix_now();

}  // namespace exo::rtc_clock
