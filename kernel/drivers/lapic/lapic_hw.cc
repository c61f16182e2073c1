// The local APIC's only job here: pass the 8259's interrupts through. On
// `pc` SeaBIOS sets LINT0 to ExtINT; qboot (microvm) leaves the APIC alone,
// so without this no IRQ would ever reach the CPU (SDM Vol. 3A §10.5.1).
#include "kernel/arch/x86_64/cpu.h"
#include "kernel/lib/tsc_math.h"
#include "kernel/boot/boot_sequence_hw.h"
#include "kernel/drivers/drivers_hw.h"
#include "kernel/drivers/pit8254/timer_hw.h"
#include "kernel/debug/klog_hw.h"
#include "kernel/mm/memory_hw.h"

namespace exo::lapic {
namespace {

constexpr uint32_t kMsrApicBase = 0x1B;
constexpr uint64_t kApicBaseEnable = 1ull << 11;
constexpr uint64_t kApicBaseMask = 0xFFFFFF000ull;
constexpr uint32_t kLeaf1EdxApic = 1u << 9;

// Register offsets (SDM Vol. 3A Table 10-1).
constexpr uint32_t kSpuriousVector = 0xF0;
constexpr uint32_t kLvtLint0 = 0x350;
constexpr uint32_t kLvtLint1 = 0x360;
constexpr uint32_t kSvrEnable = 1u << 8;
constexpr uint32_t kSpurious = 0xFF;        // a vector the IDT ignores
constexpr uint32_t kDeliveryExtInt = 7u << 8;
constexpr uint32_t kDeliveryNmi = 4u << 8;
constexpr uint32_t kLvtTimer = 0x320;
constexpr uint32_t kTimerInitialCount = 0x380;
constexpr uint32_t kTimerCurrentCount = 0x390;
constexpr uint32_t kTimerDivide = 0x3E0;
constexpr uint32_t kLvtMasked = 1u << 16;
constexpr uint32_t kDivideBy16 = 0x3;
constexpr uint64_t kTimerCalibrationUs = 10000;

// Set by the "lapic" task.
constinit uint64_t g_lapic_virt = 0;

uint32_t read_reg(uint64_t base, uint32_t reg) { return *reinterpret_cast<volatile uint32_t*>(base + reg); }

void write_reg(uint64_t base, uint32_t reg, uint32_t value)
{
    *reinterpret_cast<volatile uint32_t*>(base + reg) = value;
}

Result<void> route_pic_through_lapic()
{
    if (!(cpu::cpuid(1).edx & kLeaf1EdxApic))
        return Error::Absent;
    uint64_t msr = cpu::rdmsr(kMsrApicBase);
    cpu::wrmsr(kMsrApicBase, msr | kApicBaseEnable);
    uint64_t phys = msr & kApicBaseMask;
    uint64_t virt = memory::fixmap_mmio(memory::FixmapSlot::Lapic, phys);
    write_reg(virt, kSpuriousVector, kSvrEnable | kSpurious);
    write_reg(virt, kLvtLint0, kDeliveryExtInt);
    write_reg(virt, kLvtLint1, kDeliveryNmi);
    g_lapic_virt = virt;
    return {};
}

// The local APIC timer as a second clock: measured against the TSC (one-shot,
// masked, divide by 16, ~10 ms of busy-wait, so it is an Optional task) and
// recorded; the PIT keeps driving the scheduler tick.
Result<void> calibrate_timer()
{
    if (!g_lapic_virt)
        return Error::Absent;
    uint64_t hz = timer::tsc_hz();
    if (!hz)
        return Error::Unsupported;
    uint64_t v = g_lapic_virt;
    cpu::InterruptGuard guard;
    write_reg(v, kLvtTimer, kLvtMasked);
    write_reg(v, kTimerDivide, kDivideBy16);
    write_reg(v, kTimerInitialCount, 0xFFFFFFFF);
    uint64_t tsc0 = cpu::rdtsc();
    uint64_t wait = us_to_ticks(kTimerCalibrationUs, hz);
    while (cpu::rdtsc() - tsc0 < wait)
        cpu::pause();
    uint32_t left = read_reg(v, kTimerCurrentCount);
    uint64_t elapsed = cpu::rdtsc() - tsc0;
    write_reg(v, kTimerInitialCount, 0);
    uint64_t counted = 0xFFFFFFFFull - left;
    if (!counted)
        return Error::Unsupported;
    uint64_t timer_hz = mul_div_floor(counted, hz, elapsed);
    driver_detail("lapic-timer", "%u kHz (bus %u kHz / 16) vs TSC; idle: PIT ticks",
        timer_hz / 1000, timer_hz * 16 / 1000);
    return {};
}

}  // namespace

EXO_BOOT_TASK(kLapicTask, "lapic", BootPhase::Essential, route_pic_through_lapic, "paging", "idt");
EXO_DRIVER_TASK(kLapicTimerTask, "lapic-timer", BootPhase::Optional, calibrate_timer, "lapic", "pit");

}  // namespace exo::lapic
