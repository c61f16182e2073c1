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
// After this many ticks the PIT estimate is good to a few ppm: freeze it.
constexpr uint64_t kFreezeTicks = kTickHz;

// Set by the "timer" task; g_ticks is written only by the IRQ 0 handler and
// read with interrupts off.
constinit Pit8254<X86PortIo> g_pit { X86PortIo {} };
constinit volatile uint64_t g_ticks = 0;
constinit PitSample g_start {};
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
        g_start = { cpu::rdtsc(), g_pit.read_counter() };
        g_ticks = 0;
        pic::unmask(kIrqTimer);
    }
    cpu::sti();
    driver_detail("pit", "IRQ 0 at %u Hz, reload %u; TSC rate from %s", kTickHz, g_pit.reload(),
        g_source == TscSource::Unknown ? "PIT (refined while running)" : tsc_source_name(g_source));
    return {};
}

// Compare the TSC with the PIT since start_timer(). The IRQ 0 count gives
// whole periods; a tick raised but not yet serviced is seen in the PIC's IRR.
void refine()
{
    cpu::InterruptGuard guard;
    PitSample now { cpu::rdtsc(), g_pit.read_counter() };
    uint64_t wraps = g_ticks;
    if (pic::pending() & (1u << kIrqTimer))
        ++wraps;
    Result<PitCalibration> cal = tsc_hz_from_pit(g_start, now, wraps, g_pit.reload());
    if (!cal.ok())
        return;
    g_hz = cal.value().tsc_hz;
    g_source = TscSource::Pit;
    if (wraps >= kFreezeTicks) {
        g_frozen = true;
        log_debug("timer: TSC %u kHz (PIT over %u ticks, +-%u ppm)", g_hz / 1000, wraps,
            cal.value().uncertainty_ppm);
    }
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
        refine();
    return g_hz;
}

TscSource tsc_source() { return g_source; }
uint64_t ticks() { return g_ticks; }
uint64_t ticks_to_us(uint64_t tsc_ticks) { return exo::ticks_to_us(tsc_ticks, tsc_hz()); }
uint64_t uptime_us() { return ticks_to_us(cpu::rdtsc() - boot_sequence::tsc_entry()); }

}  // namespace exo::timer
