// Measuring the TSC frequency against the 8254 PIT without busy-waiting on
// the boot path: the kernel latches (TSC, PIT count) once early, lets the
// counter run while it boots, latches again later (end of boot, or when
// first asked) and hands both samples here. The PIT counts down at a fixed
// 1.193182 MHz, so the ratio of the two deltas is the TSC frequency.
//
// A down-counter wraps every `period` counts (mode 0 from 0xFFFF: 65536;
// mode 2 with reload R: R). The binding counts wraps it observed (e.g. IRQ0
// ticks of channel 0); without that it must sample less than one period
// (~55 ms) apart and pass 0.
//
// Also a bounded polling calibration for use off the boot path.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "kernel/lib/result.h"

namespace exo {

// Intel 8254 datasheet: input clock 14.31818 MHz / 12. QEMU's PIT_FREQ too.
constexpr uint64_t kPitHz = 1'193'182;
// A reload value of 0 counts 65536 (8254 datasheet, "Counter Loading").
constexpr uint32_t kPitFullPeriod = 65536;
// Each latched read is exact to +-1 count; ~1 ms of PIT time keeps that
// under 0.2%.
constexpr uint64_t kMinCalibrationPitTicks = 1193;
// TSC rates outside this range mean the samples are wrong (e.g. a wrap went
// unseen), not that the CPU is unusual.
constexpr uint64_t kMinPlausibleTscHz = 10'000'000;
constexpr uint64_t kMaxPlausibleTscHz = 100'000'000'000;

struct PitSample {
    uint64_t tsc;
    uint16_t count;  // latched counter value
};

struct PitCalibration {
    uint64_t tsc_hz = 0;
    uint64_t pit_ticks = 0;  // PIT time between the samples
    uint64_t tsc_ticks = 0;  // TSC time between the samples
    uint32_t uncertainty_ppm = 0;  // from the +-1 count granularity of each read
};

// PIT ticks from count `first` to count `second` of a down-counter with
// `period` counts per wrap (0 = 65536), given `wraps` reloads in between.
// InvalidArgument: period above 65536, or a count outside it.
// Corrupt: the counter went up with no wrap seen (it wrapped an unknown
// number of times). TooLong: wraps * period overflows.
Result<uint64_t> pit_elapsed_ticks(uint16_t first, uint16_t second, uint64_t wraps, uint32_t period = kPitFullPeriod);

// TSC frequency from two samples. InvalidArgument: the TSC did not advance,
// or less than min_pit_ticks of PIT time passed ("need more time": sample
// again later). Corrupt: the samples disagree (see pit_elapsed_ticks, or a
// rate outside the plausible range).
Result<PitCalibration> tsc_hz_from_pit(const PitSample& first, const PitSample& second, uint64_t wraps,
    uint32_t period = kPitFullPeriod, uint64_t min_pit_ticks = kMinCalibrationPitTicks);

// The hardware for a polling calibration: read the TSC; latch and read the
// running PIT counter (already programmed by the caller).
struct PitPoller {
    uint64_t (*read_tsc)(void* ctx) = nullptr;
    uint16_t (*read_count)(void* ctx) = nullptr;
    void* ctx = nullptr;
};

// At most this many counter reads per polling calibration, by default:
// far more than 55 ms worth even on a fast machine, so a stuck counter
// ends in Timeout rather than a hang.
constexpr uint64_t kDefaultMaxPolls = 10'000'000;

// Spins until the counter has advanced pit_ticks (starting on a count
// change, so both ends are edges), then computes as tsc_hz_from_pit.
// Polls must come faster than one period, which any CPU manages. Off the
// boot path only: it busy-waits. Timeout: the counter never moved enough
// within max_polls reads. InvalidArgument: pit_ticks is 0 or period is bad.
Result<PitCalibration> calibrate_tsc_by_polling(const PitPoller& poller, uint32_t pit_ticks,
    uint32_t period = kPitFullPeriod, uint64_t max_polls = kDefaultMaxPolls);

}  // namespace exo
