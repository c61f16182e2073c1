#include "kernel/drivers/pit8254/timer_hw.h"

#include "kernel/arch/x86_64/cpu.h"
#include "kernel/arch/x86_64/idt.h"
#include "kernel/drivers/pic8259/pic_hw.h"
#include "kernel/arch/x86_64/port_io.h"
#include "kernel/drivers/pit8254/pit8254.h"
#include "kernel/drivers/pit8254/pit_calibration.h"
#include "kernel/lib/names.h"
#include "kernel/lib/tsc_math.h"
#include "kernel/drivers/drivers_hw.h"
#include "kernel/debug/klog_hw.h"
#include "kernel/sched/threads_hw.h"
#include "kernel/drivers/acpi/power_hw.h"

namespace exo::timer {
namespace {

constexpr uint8_t kIrqTimer = 0;

// Set by the "timer" task; g_ticks is written only by the IRQ 0 handler and
// read with interrupts off.
constinit Pit8254<X86PortIo> g_pit { X86PortIo {} };
constinit volatile uint64_t g_ticks = 0;
constinit uint64_t g_hz = 0;
constinit bool g_measure_tried = false;  // calibrate() runs at most once
constinit TscSource g_source = TscSource::Unknown;

void on_tick(TrapFrame&)
{
    g_ticks = g_ticks + 1;
    threads::on_tick(g_ticks);
}

uint64_t cpuid_tsc_hz(TscSource& source)
{
    uint32_t max = cpu::cpuid(0).eax;
    if (max >= 0x15) {
        cpu::CpuidResult r = cpu::cpuid(0x15);
        if (uint64_t hz = tsc_hz_from_cpuid15(r.eax, r.ebx, r.ecx)) {
            source = TscSource::Cpuid15;
            return hz;
        }
    }
    if (max >= 0x16) {
        if (uint64_t hz = tsc_hz_from_cpuid16(cpu::cpuid(0x16).eax)) {
            source = TscSource::Cpuid16;
            return hz;
        }
    }
    return 0;
}

Result<void> start_timer()
{
    g_hz = cpuid_tsc_hz(g_source);
    idt::set_irq_handler(kIrqTimer, on_tick);
    {
        cpu::InterruptGuard guard;
        g_pit.start_periodic(kTickHz);
        g_ticks = 0;
        pic::unmask(kIrqTimer);
    }
    cpu::sti();
    driver_detail("pit", "IRQ 0 at %u Hz, reload %u; TSC rate from %s", kTickHz, g_pit.reload(),
        g_source == TscSource::Unknown ? "PM timer or PIT, on first use" : tsc_source_name(g_source));
    return {};
}

// Measured once, on first use after boot (never on the boot path), with
// interrupts off for about 20 ms. The ACPI PM timer (3.58 MHz, wraps after
// 4.7 s) cannot be misread when the emulator deschedules us for a while;
// the PIT (wraps every 10 ms here) can, so without a PM timer two PIT
// measurements must agree before one is believed.
constexpr uint64_t kCalibrationUs = 20000;
constexpr uint32_t kCalibrationPitTicks = 2 * (kPitHz / kTickHz);
constexpr uint32_t kPmTimerMask24 = 0xFFFFFF;
constexpr int kPitAttempts = 5;
constexpr uint64_t kAgreementPpm = 2000;

uint64_t poll_tsc(void*) { return cpu::rdtsc(); }
uint16_t poll_count(void*) { return g_pit.read_counter(); }

uint64_t calibrate_with_pm_timer(uint16_t port, bool wide)
{
    X86PortIo io;
    uint32_t mask = wide ? 0xFFFFFFFF : kPmTimerMask24;
    uint64_t want = acpi::kPmTimerHz * kCalibrationUs / 1000000;
    uint32_t start = io.read32(port) & mask;
    uint64_t tsc0 = cpu::rdtsc();
    uint64_t elapsed = 0;
    for (uint64_t polls = 0; elapsed < want && polls < 100000000; ++polls)
        elapsed = ((io.read32(port) & mask) - start) & mask;
    uint64_t tsc1 = cpu::rdtsc();
    return elapsed >= want ? mul_div_floor(tsc1 - tsc0, acpi::kPmTimerHz, elapsed) : 0;
}

uint64_t calibrate_with_pit()
{
    uint64_t previous = 0;
    for (int i = 0; i < kPitAttempts; ++i) {
        Result<PitCalibration> cal = calibrate_tsc_by_polling(PitPoller { poll_tsc, poll_count, nullptr },
            kCalibrationPitTicks, g_pit.reload());
        if (!cal.ok())
            continue;
        uint64_t hz = cal.value().tsc_hz;
        uint64_t diff = hz > previous ? hz - previous : previous - hz;
        if (previous && diff <= mul_div_floor(previous, kAgreementPpm, 1000000))
            return hz;
        previous = hz;
    }
    return 0;
}

void calibrate()
{
    cpu::InterruptGuard guard;
    Result<const AcpiPowerInfo*> acpi = power::acpi_info();
    bool pm = acpi.ok() && acpi.value()->pm_timer;
    uint64_t hz = pm ? calibrate_with_pm_timer(acpi.value()->pm_timer, acpi.value()->pm_timer_32bit) : calibrate_with_pit();
    if (!hz) {
        log_warn("timer: TSC calibration failed (%s)", pm ? "ACPI PM timer" : "PIT readings disagree");
        return;
    }
    g_hz = hz;
    g_source = pm ? TscSource::PmTimer : TscSource::Pit;
    // The calibration is part of the driver's record (`drivers`).
    driver_detail("pit", "IRQ 0 at %u Hz, reload %u; TSC %u kHz via %s", kTickHz, g_pit.reload(),
        g_hz / 1000, pm ? "ACPI PM timer" : "PIT");
}

}  // namespace

EXO_DRIVER_TASK(kTimerTask, "pit", BootPhase::Essential, start_timer, "idt", "lapic");

const char* tsc_source_name(TscSource s)
{
    return name_at("unknown\0cpuid-15h\0cpuid-16h\0pit\0acpi-pm-timer\0", static_cast<size_t>(s));
}

uint64_t tsc_hz()
{
    if (!g_hz && !g_measure_tried && g_pit.reload()) {
        g_measure_tried = true;
        calibrate();
    }
    return g_hz;
}

TscSource tsc_source() { return g_source; }
uint64_t ticks() { return g_ticks; }
uint64_t ticks_to_us(uint64_t tsc_ticks) { return exo::ticks_to_us(tsc_ticks, tsc_hz()); }
uint64_t ticks_to_ns(uint64_t tsc_ticks) { return exo::ticks_to_ns(tsc_ticks, tsc_hz()); }
uint64_t uptime_us() { return ticks_to_us(cpu::rdtsc() - boot_sequence::tsc_entry()); }

}  // namespace exo::timer
