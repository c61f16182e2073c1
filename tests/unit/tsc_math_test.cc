#include "kernel/drivers/pit8254/pit_calibration.h"
#include "kernel/lib/tsc_math.h"

#include <gtest/gtest.h>

#include <random>

namespace exo {
namespace {

using U128 = unsigned __int128;

uint64_t reference_mul_div(uint64_t a, uint64_t b, uint64_t d)
{
    if (d == 0)
        return 0;
    U128 q = static_cast<U128>(a) * b / d;
    return q > UINT64_MAX ? UINT64_MAX : static_cast<uint64_t>(q);
}

// Usable at compile time, so constants can be converted there.
static_assert(ticks_to_us(2'100'000'000, 2'100'000'000) == 1'000'000);
static_assert(us_to_ticks(1, 3'000'000'000) == 3000);
static_assert(ticks_to_ns(UINT64_MAX, 1) == UINT64_MAX);
// The wide path in constant evaluation (run time on x86-64 uses DIV).
static_assert(mul_div_floor(UINT64_MAX - 1, UINT64_MAX, UINT64_MAX) == UINT64_MAX - 1);
static_assert(ticks_to_us(UINT64_MAX, uint64_t { 1 } << 63) == 1'999'999);

TEST(TscMath, SimpleConversions)
{
    constexpr uint64_t k21 = 2'100'000'000;
    EXPECT_EQ(ticks_to_us(k21, k21), 1'000'000u);
    EXPECT_EQ(ticks_to_ns(k21, k21), 1'000'000'000u);
    EXPECT_EQ(ticks_to_us(2100, k21), 1u);
    EXPECT_EQ(ticks_to_us(2099, k21), 0u);  // floor
    EXPECT_EQ(ticks_to_ns(21, k21), 10u);
    EXPECT_EQ(us_to_ticks(1'000'000, k21), k21);
    EXPECT_EQ(us_to_ticks(1, k21), 2100u);
    EXPECT_EQ(ns_to_ticks(10, k21), 21u);
    EXPECT_EQ(ticks_to_us(0, k21), 0u);
}

TEST(TscMath, ZeroFrequencyGivesZero)
{
    EXPECT_EQ(ticks_to_us(123456, 0), 0u);
    EXPECT_EQ(ticks_to_ns(UINT64_MAX, 0), 0u);
    EXPECT_EQ(us_to_ticks(123456, 0), 0u);
    EXPECT_EQ(ns_to_ticks(UINT64_MAX, 0), 0u);
    EXPECT_EQ(mul_div_floor(5, 5, 0), 0u);
}

TEST(TscMath, FullRangeWithoutOverflow)
{
    constexpr uint64_t k3 = 3'000'000'000;
    // 2^64-1 ticks at 3 GHz is ~195 years: fits in us and ns.
    EXPECT_EQ(ticks_to_us(UINT64_MAX, k3), reference_mul_div(UINT64_MAX, 1'000'000, k3));
    EXPECT_EQ(ticks_to_ns(UINT64_MAX, k3), 6148914691236517205u);
    // Results that cannot fit saturate.
    EXPECT_EQ(us_to_ticks(UINT64_MAX, k3), UINT64_MAX);
    EXPECT_EQ(ns_to_ticks(UINT64_MAX, k3), reference_mul_div(UINT64_MAX, k3, kNsPerSecond));
    EXPECT_EQ(ticks_to_ns(UINT64_MAX, 1000), UINT64_MAX);
    EXPECT_EQ(mul_div_floor(UINT64_MAX, UINT64_MAX, UINT64_MAX), UINT64_MAX);
    EXPECT_EQ(mul_div_floor(UINT64_MAX, UINT64_MAX, 1), UINT64_MAX);
    EXPECT_EQ(mul_div_floor(UINT64_MAX - 1, UINT64_MAX, UINT64_MAX), UINT64_MAX - 1);
}

TEST(TscMath, HugeFrequenciesTakeTheWidePath)
{
    // r * b overflows 64 bits: exercises the 128/64 division.
    constexpr uint64_t kHuge = 0xFFFF'FFFF'FFFF'FFC5;  // a large prime
    EXPECT_EQ(ticks_to_ns(kHuge - 1, kHuge), reference_mul_div(kHuge - 1, kNsPerSecond, kHuge));
    EXPECT_EQ(us_to_ticks(999'999, kHuge), reference_mul_div(999'999, kHuge, kUsPerSecond));
    EXPECT_EQ(ticks_to_us(UINT64_MAX, uint64_t { 1 } << 63), 1'999'999u);
}

TEST(TscMath, MatchesReferenceOnRandomInputs)
{
    std::mt19937_64 rng(12345);
    for (int i = 0; i < 200000; ++i) {
        // Mix widths so every path (small, split, wide, saturating) is hit.
        uint64_t a = rng() >> (rng() % 64);
        uint64_t b = rng() >> (rng() % 64);
        uint64_t d = rng() >> (rng() % 64);
        ASSERT_EQ(mul_div_floor(a, b, d), reference_mul_div(a, b, d)) << a << " * " << b << " / " << d;
    }
}

// The shift-subtract division (constant evaluation, hosts without DIV's
// 128-bit dividend) against the compiler's 128-bit division.
TEST(TscMath, SoftwareDivisionMatchesReference)
{
    std::mt19937_64 rng(54321);
    for (int i = 0; i < 200000; ++i) {
        uint64_t d = rng() >> (rng() % 64);
        if (d == 0)
            continue;
        uint64_t hi = (rng() >> (rng() % 64)) % d;  // hi < d: the quotient fits
        uint64_t lo = rng();
        U128 want = ((static_cast<U128>(hi) << 64) | lo) / d;
        ASSERT_EQ(tsc_detail::div_128_by_64(hi, lo, d), static_cast<uint64_t>(want)) << hi << ":" << lo << " / " << d;
    }
}

TEST(TscMath, RoundTripIsWithinOneUnit)
{
    for (uint64_t hz : {1'000'000'000ull, 2'100'000'000ull, 3'000'000'000ull, 2'399'987'654ull}) {
        for (uint64_t us : {0ull, 1ull, 999ull, 123'456'789ull, 1ull << 40}) {
            uint64_t back = ticks_to_us(us_to_ticks(us, hz), hz);
            EXPECT_LE(back, us);
            EXPECT_GE(back + 1, us);
        }
    }
}

TEST(TscMath, Cpuid15)
{
    // Skylake-style: 24 MHz crystal, ratio 176/2 -> 2.112 GHz.
    EXPECT_EQ(tsc_hz_from_cpuid15(2, 176, 24'000'000), 2'112'000'000u);
    // 25 MHz crystal, ratio 120/1 -> 3 GHz.
    EXPECT_EQ(tsc_hz_from_cpuid15(1, 120, 25'000'000), 3'000'000'000u);
    // Largest inputs do not overflow.
    EXPECT_EQ(tsc_hz_from_cpuid15(1, UINT32_MAX, UINT32_MAX), uint64_t { UINT32_MAX } * UINT32_MAX);
    // Not enumerated.
    EXPECT_EQ(tsc_hz_from_cpuid15(0, 176, 24'000'000), 0u);
    EXPECT_EQ(tsc_hz_from_cpuid15(2, 0, 24'000'000), 0u);
    EXPECT_EQ(tsc_hz_from_cpuid15(2, 176, 0), 0u);  // crystal not reported
}

TEST(TscMath, Cpuid16)
{
    EXPECT_EQ(tsc_hz_from_cpuid16(2100), 2'100'000'000u);
    EXPECT_EQ(tsc_hz_from_cpuid16(0xABCD'0BB8), 3'000'000'000u);  // reserved bits ignored
    EXPECT_EQ(tsc_hz_from_cpuid16(0), 0u);
}

// --- PIT calibration from two samples -------------------------------------

// The TSC delta a CPU at `hz` shows over `pit_ticks` PIT ticks.
uint64_t tsc_over(uint64_t pit_ticks, uint64_t hz)
{
    return mul_div_floor(pit_ticks, hz, kPitHz);
}

void expect_close(uint64_t measured, uint64_t truth, uint32_t ppm)
{
    uint64_t diff = measured > truth ? measured - truth : truth - measured;
    EXPECT_LE(diff, truth / 1'000'000 * (ppm + 1)) << measured << " vs " << truth;
}

TEST(PitCalibration, KnownFrequenciesWithoutWrap)
{
    for (uint64_t hz : {2'100'000'000ull, 3'000'000'000ull, 1'000'000'000ull}) {
        PitSample a {5'000'000, 60000};
        PitSample b {a.tsc + tsc_over(50000, hz), 10000};
        Result<PitCalibration> cal = tsc_hz_from_pit(a, b, 0);
        ASSERT_TRUE(cal.ok());
        EXPECT_EQ(cal.value().pit_ticks, 50000u);
        EXPECT_EQ(cal.value().tsc_ticks, b.tsc - a.tsc);
        EXPECT_EQ(cal.value().uncertainty_ppm, 40u);
        expect_close(cal.value().tsc_hz, hz, 1);
    }
}

TEST(PitCalibration, CounterWrapIsAccounted)
{
    constexpr uint64_t kHz = 3'000'000'000;
    // Mode 0 from 0xFFFF: count goes 1000 -> 0 -> 65535 -> 60000.
    PitSample a {100, 1000};
    uint64_t elapsed = 1000 + 65536 - 60000;
    PitSample b {100 + tsc_over(elapsed, kHz), 60000};
    Result<PitCalibration> cal = tsc_hz_from_pit(a, b, 1);
    ASSERT_TRUE(cal.ok());
    EXPECT_EQ(cal.value().pit_ticks, elapsed);
    expect_close(cal.value().tsc_hz, kHz, cal.value().uncertainty_ppm);

    // The same counts without the wrap being seen are ambiguous.
    EXPECT_EQ(tsc_hz_from_pit(a, b, 0).error(), Error::Corrupt);
}

TEST(PitCalibration, ManyWrapsOfAOneKilohertzTick)
{
    // Mode 2 with reload 1193 (1 kHz IRQ0): counts 1193..1, wraps = IRQs seen.
    constexpr uint32_t kReload = 1193;
    constexpr uint64_t kHz = 2'100'000'000;
    PitSample a {7, 500};
    uint64_t elapsed = 2500ull * kReload - 200;  // 2500 reloads, counter up from 500 to 700
    PitSample b {7 + tsc_over(elapsed, kHz), 700};
    Result<PitCalibration> cal = tsc_hz_from_pit(a, b, 2500, kReload);
    ASSERT_TRUE(cal.ok());
    EXPECT_EQ(cal.value().pit_ticks, elapsed);
    EXPECT_EQ(cal.value().uncertainty_ppm, 1u);
    expect_close(cal.value().tsc_hz, kHz, 1);

    // Mode 2 shows the reload value itself as a count.
    EXPECT_EQ(pit_elapsed_ticks(1, kReload, 1, kReload).value(), 1u);
    EXPECT_EQ(pit_elapsed_ticks(kReload, 1, 0, kReload).value(), kReload - 1u);
}

TEST(PitCalibration, ElapsedTicks)
{
    EXPECT_EQ(pit_elapsed_ticks(100, 40, 0).value(), 60u);
    EXPECT_EQ(pit_elapsed_ticks(100, 100, 0).value(), 0u);
    EXPECT_EQ(pit_elapsed_ticks(100, 100, 2).value(), 2u * 65536);
    EXPECT_EQ(pit_elapsed_ticks(0, 0xFFFF, 1).value(), 1u);
    EXPECT_EQ(pit_elapsed_ticks(100, 40, 3, 0).value(), 3u * 65536 + 60);  // 0 = 65536
    EXPECT_EQ(pit_elapsed_ticks(5, 6, 0).error(), Error::Corrupt);
    EXPECT_EQ(pit_elapsed_ticks(100, 40, 0, 65537).error(), Error::InvalidArgument);
    EXPECT_EQ(pit_elapsed_ticks(1200, 40, 0, 1193).error(), Error::InvalidArgument);  // count > reload
    EXPECT_EQ(pit_elapsed_ticks(100, 40, UINT64_MAX).error(), Error::TooLong);
    EXPECT_EQ(pit_elapsed_ticks(100, 40, UINT64_MAX / 65536 + 1).error(), Error::TooLong);
    EXPECT_EQ(pit_elapsed_ticks(100, 40, UINT64_MAX / 65536).value(), UINT64_MAX / 65536 * 65536 + 60);
}

TEST(PitCalibration, NeedsEnoughTime)
{
    // 100 PIT ticks is ~84 us: too coarse.
    PitSample a {1000, 5000};
    PitSample b {1000 + tsc_over(100, 3'000'000'000), 4900};
    EXPECT_EQ(tsc_hz_from_pit(a, b, 0).error(), Error::InvalidArgument);
    // The caller may accept a shorter window explicitly.
    EXPECT_TRUE(tsc_hz_from_pit(a, b, 0, kPitFullPeriod, 100).ok());
    // Exactly at the default minimum is enough.
    PitSample c {1000 + tsc_over(kMinCalibrationPitTicks, 3'000'000'000),
        static_cast<uint16_t>(5000 - kMinCalibrationPitTicks)};
    EXPECT_TRUE(tsc_hz_from_pit(a, c, 0).ok());
}

TEST(PitCalibration, RejectsInconsistentSamples)
{
    PitSample a {5000, 60000};
    // TSC did not move, or went backwards (samples swapped).
    EXPECT_EQ(tsc_hz_from_pit(a, PitSample {5000, 10000}, 0).error(), Error::InvalidArgument);
    EXPECT_EQ(tsc_hz_from_pit(a, PitSample {4000, 10000}, 0).error(), Error::InvalidArgument);
    // 50000 PIT ticks (42 ms) but only 1000 TSC ticks: 24 kHz is not a TSC.
    EXPECT_EQ(tsc_hz_from_pit(a, PitSample {6000, 10000}, 0).error(), Error::Corrupt);
    // An unseen wrap that makes the elapsed PIT time look tiny: implausibly fast.
    PitSample near {5000 + tsc_over(65536 + 2000, 90'000'000'000), 58000};
    EXPECT_EQ(tsc_hz_from_pit(a, near, 0, kPitFullPeriod, 1000).error(), Error::Corrupt);
}

// --- Polling calibration against a simulated PIT ---------------------------

struct SimMachine {
    uint64_t tsc_hz;
    uint64_t ps_per_read;     // time each device read takes, in picoseconds
    uint32_t period;          // counter period
    uint16_t start_count;     // counter value at time 0
    uint64_t now_ps = 0;
    bool stuck = false;       // counter never moves
    uint64_t reads = 0;

    static constexpr uint64_t kPsPerSecond = 1'000'000'000'000;

    static uint64_t read_tsc(void* ctx)
    {
        auto* m = static_cast<SimMachine*>(ctx);
        m->now_ps += m->ps_per_read;
        return mul_div_floor(m->now_ps, m->tsc_hz, kPsPerSecond);
    }

    static uint16_t read_count(void* ctx)
    {
        auto* m = static_cast<SimMachine*>(ctx);
        m->now_ps += m->ps_per_read;
        ++m->reads;
        if (m->stuck)
            return m->start_count;
        uint64_t ticks = mul_div_floor(m->now_ps, kPitHz, kPsPerSecond);
        // Mode 0 down-counter: start_count, start_count-1, ..., wrapping mod period.
        return static_cast<uint16_t>((m->start_count + m->period - ticks % m->period) % m->period);
    }

    PitPoller poller() { return PitPoller {&read_tsc, &read_count, this}; }
};

TEST(PitPolling, MeasuresKnownFrequencies)
{
    for (uint64_t hz : {2'100'000'000ull, 3'000'000'000ull, 1'000'000'000ull}) {
        SimMachine m {hz, 1'000'000 /* 1 us per read */, kPitFullPeriod, 12345};
        // 10 ms: wraps zero times; 100 ms: wraps once or twice.
        for (uint32_t ticks : {11932u, 119318u}) {
            Result<PitCalibration> cal = calibrate_tsc_by_polling(m.poller(), ticks);
            ASSERT_TRUE(cal.ok()) << error_name(cal.error());
            EXPECT_GE(cal.value().pit_ticks, ticks);
            // Edges are found within one read (1 us), so the result is within
            // ~2 us over the window, plus the +-1 count granularity.
            expect_close(cal.value().tsc_hz, hz, cal.value().uncertainty_ppm + 200);
        }
    }
}

TEST(PitPolling, ShortPeriodCounterWrapsOften)
{
    SimMachine m {3'000'000'000, 500'000, 1193, 1000};
    Result<PitCalibration> cal = calibrate_tsc_by_polling(m.poller(), 50'000, 1193);
    ASSERT_TRUE(cal.ok());
    expect_close(cal.value().tsc_hz, 3'000'000'000, cal.value().uncertainty_ppm + 100);
}

TEST(PitPolling, StuckCounterTimesOut)
{
    SimMachine m {3'000'000'000, 1'000'000, kPitFullPeriod, 777};
    m.stuck = true;
    EXPECT_EQ(calibrate_tsc_by_polling(m.poller(), 1000, kPitFullPeriod, 5000).error(), Error::Timeout);
    EXPECT_LE(m.reads, 5001u);
}

TEST(PitPolling, TooFewPollsTimesOut)
{
    // 1 us per read cannot cover 10 ms of PIT time in 100 reads.
    SimMachine m {3'000'000'000, 1'000'000, kPitFullPeriod, 40000};
    EXPECT_EQ(calibrate_tsc_by_polling(m.poller(), 11932, kPitFullPeriod, 100).error(), Error::Timeout);
}

TEST(PitPolling, BadArguments)
{
    SimMachine m {3'000'000'000, 1'000'000, kPitFullPeriod, 40000};
    EXPECT_EQ(calibrate_tsc_by_polling(m.poller(), 0).error(), Error::InvalidArgument);
    EXPECT_EQ(calibrate_tsc_by_polling(PitPoller {}, 1000).error(), Error::InvalidArgument);
    EXPECT_EQ(calibrate_tsc_by_polling(m.poller(), 1000, 70000).error(), Error::InvalidArgument);
}

}  // namespace
}  // namespace exo
