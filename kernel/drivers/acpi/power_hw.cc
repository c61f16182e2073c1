#include "kernel/drivers/acpi/power_hw.h"

#include "kernel/arch/x86_64/cpu.h"
#include "kernel/arch/x86_64/port_io.h"
#include "kernel/boot/boot_info.h"
#include "kernel/boot/boot_sequence_hw.h"
#include "kernel/drivers/drivers_hw.h"
#include "kernel/debug/klog_hw.h"
#include "kernel/mm/memory_hw.h"
#include "kernel/drivers/pit8254/timer_hw.h"
#include "kernel/lib/tsc_math.h"

namespace exo {
const BootInfo& boot_info();
// Physical memory through the early direct map, as a PhysReader (kernel_main_hw.cc).
const uint8_t* read_low_phys(void* ctx, uint64_t phys, size_t len);
}

namespace exo::power {
namespace {

// QEMU's isa-debug-exit device (contract: iobase 0xf4): QEMU exits with
// status (value << 1) | 1.
constexpr uint16_t kDebugExitPort = 0xF4;
// PCI reset control register (Intel PIIX/ICH "RST_CNT"): 0x06 = full reset.
constexpr uint16_t kResetControlPort = 0xCF9;
constexpr uint8_t kResetControlFull = 0x06;
// i8042 command port: 0xFE pulses the CPU reset line.
constexpr uint16_t kI8042Command = 0x64;
constexpr uint8_t kI8042PulseReset = 0xFE;
constexpr uint32_t kAcpiEnableSpins = 100000;
// QEMU acts on an S5 request asynchronously: give it this long before the
// isa-debug-exit fallback (which would end QEMU with status 1, not 0).
constexpr uint64_t kSoftOffGraceUs = 500000;
constexpr uint64_t kSoftOffGraceSpins = 500000000;

// Filled once by the first acpi_info() call (shell thread or boot task).
constinit AcpiPowerInfo g_info {};
constinit bool g_have_info = false;
constinit Error g_info_error = Error::NotFound;
constinit bool g_tried = false;

Result<void> acpi_probe()
{
    Result<const AcpiPowerInfo*> info = acpi_info();
    if (!info.ok())
        return info.error() == Error::NotFound ? Error::Absent : info.error();
    const AcpiPowerInfo& i = *info.value();
    driver_detail("acpi", "rsdp %p rev %u, PM1a_CNT 0x%x, S5 %s, reset %s", i.rsdp_phys, i.rsdp_revision,
        i.pm1a_cnt, i.has_s5 ? "yes" : "no", i.reset.supported ? "yes" : "no");
    return {};
}

void acpi_soft_off(X86PortIo& io)
{
    Result<const AcpiPowerInfo*> info = acpi_info();
    if (!info.ok() || !info.value()->has_s5)
        return;
    const AcpiPowerInfo& i = *info.value();
    if (!i.pm1a_cnt) {
        // Hardware-reduced (QEMU's microvm): SLP_TYP in bits 2-4 and SLP_EN
        // (bit 5) of the sleep control register, in I/O or memory space.
        uint8_t value = static_cast<uint8_t>(((i.slp_typ_a & 7) << 2) | (1 << 5));
        if (i.sleep_control_space == acpi::AddressSpace::SystemIo && i.sleep_control <= 0xFFFF)
            io.write8(static_cast<uint16_t>(i.sleep_control), value);
        else if (i.sleep_control_space == acpi::AddressSpace::SystemMemory && i.sleep_control)
            *reinterpret_cast<volatile uint8_t*>(memory::fixmap_mmio(memory::FixmapSlot::AcpiSleep, i.sleep_control)
                + (i.sleep_control & 0xFFF)) = value;
    } else {
        if (!(io.read16(i.pm1a_cnt) & acpi::kPm1CntSciEn) && i.smi_cmd) {
            io.write8(static_cast<uint16_t>(i.smi_cmd), i.acpi_enable);
            for (uint32_t n = 0; n < kAcpiEnableSpins && !(io.read16(i.pm1a_cnt) & acpi::kPm1CntSciEn); ++n)
                cpu::pause();
        }
        io.write16(i.pm1a_cnt, pm1_control_sleep_value(i.slp_typ_a, io.read16(i.pm1a_cnt)));
        if (i.pm1b_cnt)
            io.write16(i.pm1b_cnt, pm1_control_sleep_value(i.slp_typ_b, io.read16(i.pm1b_cnt)));
    }
    // Either way QEMU powers off from its main loop: give it the moment
    // before the caller's fallback (isa-debug-exit) ends it with status 1.
    uint64_t hz = timer::tsc_hz();
    uint64_t start = cpu::rdtsc();
    for (uint64_t n = 0; n < kSoftOffGraceSpins; ++n) {
        if (hz && ticks_to_us(cpu::rdtsc() - start, hz) > kSoftOffGraceUs)
            break;
        cpu::pause();
    }
}

}  // namespace

EXO_DRIVER_TASK(kAcpiTask, "acpi", BootPhase::Optional, acpi_probe);

Result<const AcpiPowerInfo*> acpi_info()
{
    // Callers on several threads (the acpi task with deferred=auto, the
    // shell's first TSC calibration, poweroff): the first reads the tables
    // with interrupts off, so no other sees g_info half filled.
    cpu::InterruptGuard guard;
    if (!g_tried) {
        g_tried = true;
        // Through an opaque pointer: the walk, specialised on g_info, took
        // RIP-relative field stores.
        Result<void> r = read_acpi_power_info(read_low_phys, nullptr, boot_info().rsdp_phys, *cpu::opaque(&g_info));
        g_have_info = r.ok();
        if (!r.ok())
            g_info_error = r.error();
    }
    if (!g_have_info)
        return g_info_error;
    return &g_info;
}

void poweroff()
{
    log_info("power: off");
    X86PortIo io;
    acpi_soft_off(io);
    io.write8(kDebugExitPort, 0);
    log_error("power: cannot power off; halting");
    cpu::halt_forever();
}

void reboot()
{
    log_info("power: reset");
    X86PortIo io;
    Result<const AcpiPowerInfo*> info = acpi_info();
    if (info.ok() && info.value()->reset.supported && info.value()->reset.space == acpi::AddressSpace::SystemIo)
        io.write8(static_cast<uint16_t>(info.value()->reset.address), info.value()->reset.value);
    io.write8(kResetControlPort, kResetControlFull);
    io.write8(kI8042Command, kI8042PulseReset);
    // Last resort: an empty IDT turns the next interrupt into a triple fault.
    struct [[gnu::packed]] {
        uint16_t limit;
        uint64_t base;
    } empty { 0, 0 };
    asm volatile("lidt %0; int3" : : "m"(empty));
    cpu::halt_forever();
}

}  // namespace exo::power
