#include "kernel/platform/timer.h"

#include "kernel/arch/x86_64/cpu.h"
#include "kernel/arch/x86_64/idt.h"
#include "kernel/arch/x86_64/pic.h"
#include "kernel/arch/x86_64/port_io.h"
#include "kernel/drivers/pit8254.h"
#include "kernel/lib/pit_calibration.h"
#include "kernel/lib/tsc_math.h"
#include "kernel/platform/drivers.h"
#include "kernel/platform/klog.h"
#include "kernel/platform/threads.h"

namespace exo::timer {
namespace {

constexpr uint8_t kIrqTimer = 0;

// Set by the "timer" task; g_ticks is written only by the IRQ 0 handler and
// read with interrupts off.
constinit Pit8254<X86PortIo> g_pit { X86PortIo {} };
constinit volatile uint64_t g_ticks = 0;
constinit uint64_t g_hz = 0;
constinit bool g_frozen = false;
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
    if (g_hz)
        g_frozen = true;
    idt::set_irq_handler(kIrqTimer, on_tick);
    {
        cpu::InterruptGuard guard;
        g_pit.start_periodic(kTickHz);
        g_ticks = 0;
        pic::unmask(kIrqTimer);
    }
    cpu::sti();
    driver_detail("pit", "IRQ 0 at %u Hz, reload %u; TSC rate from %s", kTickHz, g_pit.reload(),
        g_source == TscSource::Unknown ? "PIT (measured on first use)" : tsc_source_name(g_source));
    return {};
}

// Measured once, on first use after boot (never on the boot path): poll the
// PIT counter with interrupts off for a few periods. Counting IRQ 0 ticks
// instead proved unreliable when the host is loaded (QEMU coalesces ticks).
constexpr uint32_t kCalibrationPitTicks = 3 * (kPitHz / kTickHz);

uint64_t poll_tsc(void*) { return cpu::rdtsc(); }
uint16_t poll_count(void*) { return g_pit.read_counter(); }

void calibrate()
{
    cpu::InterruptGuard guard;
    Result<PitCalibration> cal =
        calibrate_tsc_by_polling(PitPoller { poll_tsc, poll_count, nullptr }, kCalibrationPitTicks, g_pit.reload());
    if (!cal.ok()) {
        log_warn("timer: TSC calibration against the PIT failed: %s", error_name(cal.error()));
        return;
    }
    g_hz = cal.value().tsc_hz;
    g_source = TscSource::Pit;
    g_frozen = true;
    log_debug("timer: TSC %u kHz (PIT, +-%u ppm)", g_hz / 1000, cal.value().uncertainty_ppm);
}

}  // namespace

EXO_DRIVER_TASK(kTimerTask, "pit", BootPhase::Essential, start_timer, "idt", "lapic");

const char* tsc_source_name(TscSource s)
{
    switch (s) {
    case TscSource::Unknown: return "unknown";
    case TscSource::Cpuid15: return "cpuid-15h";
    case TscSource::Cpuid16: return "cpuid-16h";
    case TscSource::Pit: return "pit";
    }
    return "?";
}

uint64_t tsc_hz()
{
    if (!g_frozen && g_pit.reload())
        calibrate();
    return g_hz;
}

TscSource tsc_source() { return g_source; }
uint64_t ticks() { return g_ticks; }
uint64_t ticks_to_us(uint64_t tsc_ticks) { return exo::ticks_to_us(tsc_ticks, tsc_hz()); }
uint64_t uptime_us() { return ticks_to_us(cpu::rdtsc() - boot_sequence::tsc_entry()); }

}  // namespace exo::timer
