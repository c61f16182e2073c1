#include "kernel/drivers/pit8254/pit_calibration.h"

#include "kernel/lib/tsc_math.h"

namespace exo {

namespace {

Result<uint32_t> checked_period(uint32_t period)
{
    if (period == 0)
        return kPitFullPeriod;
    if (period > kPitFullPeriod)
        return Error::InvalidArgument;
    return period;
}

// Mode 0 shows counts 0..period-1, mode 2 shows 1..period: accept both.
bool count_fits(uint16_t count, uint32_t period)
{
    return count <= period;
}

Result<PitCalibration> calibration_from(uint64_t tsc_ticks, uint64_t pit_ticks, uint64_t min_pit_ticks)
{
    if (tsc_ticks == 0 || pit_ticks == 0 || pit_ticks < min_pit_ticks)
        return Error::InvalidArgument;  // need more time between the samples
    PitCalibration cal;
    cal.tsc_ticks = tsc_ticks;
    cal.pit_ticks = pit_ticks;
    cal.tsc_hz = mul_div_floor(tsc_ticks, kPitHz, pit_ticks);
    // Two reads, each +-1 count.
    constexpr uint64_t kReadsPerMeasurement = 2;
    uint64_t ppm = (kReadsPerMeasurement * kUsPerSecond + pit_ticks - 1) / pit_ticks;
    cal.uncertainty_ppm = static_cast<uint32_t>(ppm);
    if (cal.tsc_hz < kMinPlausibleTscHz || cal.tsc_hz > kMaxPlausibleTscHz)
        return Error::Corrupt;
    return cal;
}

}  // namespace

Result<uint64_t> pit_elapsed_ticks(uint16_t first, uint16_t second, uint64_t wraps, uint32_t period)
{
    period = TRY(checked_period(period));
    if (!count_fits(first, period) || !count_fits(second, period))
        return Error::InvalidArgument;
    uint64_t whole = 0;
    if (__builtin_mul_overflow(wraps, uint64_t { period }, &whole))
        return Error::TooLong;
    if (second <= first) {
        uint64_t total = 0;
        if (__builtin_add_overflow(whole, uint64_t { first } - second, &total))
            return Error::TooLong;
        return total;
    }
    // The counter went up, so it reloaded at least once.
    if (wraps == 0)
        return Error::Corrupt;
    return whole - (uint64_t { second } - first);
}

Result<PitCalibration> tsc_hz_from_pit(const PitSample& first, const PitSample& second, uint64_t wraps,
    uint32_t period, uint64_t min_pit_ticks)
{
    if (second.tsc <= first.tsc)
        return Error::InvalidArgument;
    uint64_t pit_ticks = TRY(pit_elapsed_ticks(first.count, second.count, wraps, period));
    return calibration_from(second.tsc - first.tsc, pit_ticks, min_pit_ticks);
}

Result<PitCalibration> calibrate_tsc_by_polling(const PitPoller& poller, uint32_t pit_ticks, uint32_t period,
    uint64_t max_polls)
{
    if (poller.read_tsc == nullptr || poller.read_count == nullptr || pit_ticks == 0)
        return Error::InvalidArgument;
    period = TRY(checked_period(period));

    uint64_t polls = 0;
    uint16_t previous = poller.read_count(poller.ctx);
    uint16_t count = previous;
    // Start on an edge: the moment the count changes.
    while (count == previous) {
        if (++polls > max_polls)
            return Error::Timeout;
        count = poller.read_count(poller.ctx);
    }
    uint64_t tsc_start = poller.read_tsc(poller.ctx);
    if (!count_fits(count, period))
        return Error::Corrupt;
    previous = count;

    uint64_t elapsed = 0;
    while (elapsed < pit_ticks) {
        if (++polls > max_polls)
            return Error::Timeout;
        count = poller.read_count(poller.ctx);
        if (!count_fits(count, period))
            return Error::Corrupt;
        // Forward distance on the down-counter's circle; a poll is much
        // shorter than a period, so at most one reload lies in between.
        elapsed += (uint64_t { previous } + period - count) % period;
        previous = count;
    }
    uint64_t tsc_end = poller.read_tsc(poller.ctx);
    return calibration_from(tsc_end - tsc_start, elapsed, 0);
}

}  // namespace exo
