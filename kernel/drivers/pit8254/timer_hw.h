// Time: the PIT's periodic IRQ 0 and the TSC. The TSC rate comes from CPUID
// 0x15/0x16 when the CPU reports it, else measured against the ACPI PM timer
// (or the PIT where there is none) the first time a rate is needed: boot
// records raw TSC ticks, so nothing on the boot path waits for a calibration.
#pragma once

#include <stdint.h>

namespace exo::timer {

constexpr uint32_t kTickHz = 100;

enum class TscSource : uint8_t { Unknown, Cpuid15, Cpuid16, Pit, PmTimer };
const char* tsc_source_name(TscSource s);

// Measures on first use (about 30 ms, interrupts off); 0 if that failed.
uint64_t tsc_hz();
TscSource tsc_source();
uint64_t ticks();
// Microseconds since the kernel's first instruction (0 while uncalibrated).
uint64_t uptime_us();
uint64_t ticks_to_us(uint64_t tsc_ticks);
uint64_t ticks_to_ns(uint64_t tsc_ticks);

}  // namespace exo::timer
