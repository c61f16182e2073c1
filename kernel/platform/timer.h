// Time: the PIT's periodic IRQ 0 and the TSC. The TSC rate comes from CPUID
// 0x15/0x16 when the CPU reports it, else from comparing the TSC with the
// PIT counter over however long the kernel has been up: no busy-wait on the
// boot path, and the estimate sharpens until it is frozen after a second.
#pragma once

#include <stdint.h>

namespace exo::timer {

constexpr uint32_t kTickHz = 100;

enum class TscSource : uint8_t { Unknown, Cpuid15, Cpuid16, Pit };
const char* tsc_source_name(TscSource s);

// 0 until enough PIT time has passed (about 1 ms after the "timer" task).
uint64_t tsc_hz();
TscSource tsc_source();
uint64_t ticks();
// Microseconds since the kernel's first instruction (0 while uncalibrated).
uint64_t uptime_us();
uint64_t ticks_to_us(uint64_t tsc_ticks);

}  // namespace exo::timer
