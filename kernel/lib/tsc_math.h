// Converting TSC ticks to time and back, exactly (floor) and without
// overflow for any uint64 input: results too large for uint64 saturate at
// UINT64_MAX. A frequency of 0 (not calibrated yet) converts everything to 0.
// Plus the TSC frequency as CPUID enumerates it.
#pragma once

#include <stdint.h>

namespace exo {

constexpr uint64_t kUsPerSecond = 1'000'000;
constexpr uint64_t kNsPerSecond = 1'000'000'000;
constexpr uint64_t kHzPerMhz = 1'000'000;

namespace tsc_detail {

// floor((hi:lo) / d) for hi < d, so the quotient fits in 64 bits. Restoring
// shift-subtract division: no libgcc __udivti3 needed, and it only runs when
// a product overflows 64 bits (frequencies above ~18 GHz or huge inputs).
constexpr uint64_t div_128_by_64(uint64_t hi, uint64_t lo, uint64_t d)
{
    uint64_t quotient = 0;
    for (int bit = 63; bit >= 0; --bit) {
        bool carry = (hi >> 63) != 0;
        hi = (hi << 1) | (lo >> 63);
        lo <<= 1;
        quotient <<= 1;
        if (carry || hi >= d) {
            hi -= d;  // wraps correctly when carry is set: the true value is < 2d
            quotient |= 1;
        }
    }
    return quotient;
}

}  // namespace tsc_detail

#if EXO_KERNEL
namespace tsc_detail {
// div_128_by_64 as one DIV instruction (kernel/lib/divide_hw.cc): the
// kernel's run-time path. Host builds and constant evaluation use the loop.
uint64_t divide_hw(uint64_t hi, uint64_t lo, uint64_t d);
}  // namespace tsc_detail
#endif

// floor(a * b / d), saturating at UINT64_MAX; 0 when d == 0.
// One 64x64->128 multiply; the quotient fits in 64 bits exactly when the
// high half is below d. In the kernel at run time one DIV divides the
// 128-bit product; otherwise a 64-bit division when the product fits 64
// bits, else the shift-subtract loop (about 64 steps).
// Out of line at run time: partial inlining otherwise left a private copy
// of its slow path in each caller's file.
[[gnu::noinline]] constexpr uint64_t mul_div_floor(uint64_t a, uint64_t b, uint64_t d)
{
    if (d == 0)
        return 0;
    __extension__ using U128 = unsigned __int128;
    U128 product = static_cast<U128>(a) * b;
    uint64_t high = static_cast<uint64_t>(product >> 64);
    uint64_t low = static_cast<uint64_t>(product);
    if (high >= d)
        return UINT64_MAX;
#if EXO_KERNEL
    if (!__builtin_is_constant_evaluated())
        return tsc_detail::divide_hw(high, low, d);
#endif
    return high == 0 ? low / d : tsc_detail::div_128_by_64(high, low, d);
}

// The two conversions out of line: each had four or five inlined copies.
[[gnu::noinline]] constexpr uint64_t ticks_to_us(uint64_t ticks, uint64_t tsc_hz)
{
    return mul_div_floor(ticks, kUsPerSecond, tsc_hz);
}

[[gnu::noinline]] constexpr uint64_t ticks_to_ns(uint64_t ticks, uint64_t tsc_hz)
{
    return mul_div_floor(ticks, kNsPerSecond, tsc_hz);
}

constexpr uint64_t us_to_ticks(uint64_t us, uint64_t tsc_hz)
{
    return mul_div_floor(us, tsc_hz, kUsPerSecond);
}

constexpr uint64_t ns_to_ticks(uint64_t ns, uint64_t tsc_hz)
{
    return mul_div_floor(ns, tsc_hz, kNsPerSecond);
}

// Intel SDM Vol. 2A, CPUID leaf 15H: TSC frequency =
// ECX (core crystal Hz) * EBX (numerator) / EAX (denominator).
// Any of them 0 means "not enumerated": returns 0.
constexpr uint64_t tsc_hz_from_cpuid15(uint32_t eax_denominator, uint32_t ebx_numerator, uint32_t ecx_crystal_hz)
{
    if (eax_denominator == 0 || ebx_numerator == 0 || ecx_crystal_hz == 0)
        return 0;
    return static_cast<uint64_t>(ecx_crystal_hz) * ebx_numerator / eax_denominator;
}

// Intel SDM Vol. 2A, CPUID leaf 16H: EAX[15:0] = processor base frequency
// in MHz, which is the TSC frequency on parts with an invariant TSC.
// 0 when not enumerated.
constexpr uint32_t kCpuid16BaseMhzMask = 0xFFFF;

constexpr uint64_t tsc_hz_from_cpuid16(uint32_t eax_base_mhz)
{
    return static_cast<uint64_t>(eax_base_mhz & kCpuid16BaseMhzMask) * kHzPerMhz;
}

}  // namespace exo
