"""TSC arithmetic exactly as kernel/lib/tsc_math.h does it: floor, saturating
at 2**64 - 1, 0 for an unknown (0) rate. Host times must round like the
shell's or a column differs in its last digit."""
from __future__ import annotations

MASK64 = (1 << 64) - 1
US_PER_SECOND = 1_000_000
NS_PER_SECOND = 1_000_000_000


def mul_div_floor(a: int, b: int, d: int) -> int:
    if d == 0:
        return 0
    return min(a * b // d, MASK64)


def ticks_to_us(ticks: int, hz: int) -> int:
    return mul_div_floor(ticks & MASK64, US_PER_SECOND, hz)


def ticks_to_ns(ticks: int, hz: int) -> int:
    return mul_div_floor(ticks & MASK64, NS_PER_SECOND, hz)
