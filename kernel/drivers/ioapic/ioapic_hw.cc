#include "kernel/drivers/ioapic/ioapic_hw.h"

#include "kernel/mm/memory_hw.h"

namespace exo::ioapic {
namespace {

// Where PCs and QEMU (pc and microvm) put the first I/O APIC; the ACPI MADT
// would say so too, but ACPI is an optional driver and this runs at boot.
constexpr uint64_t kStandardBase = 0xFEC00000;
// Indirect registers: select at 0x00, data window at 0x10 (82093AA 3.1).
constexpr uint32_t kSelect = 0x00;
constexpr uint32_t kWindow = 0x10;
constexpr uint32_t kRegVersion = 0x01;
constexpr uint32_t kRegRedirection = 0x10;  // two registers per input pin
constexpr uint32_t kDeliveryNmi = 4u << 8;  // edge, active high, physical destination, unmasked
constexpr uint32_t kMasked = 1u << 16;
constexpr uint32_t kAbsent = 0xFFFFFFFF;

uint32_t read_reg(uint64_t base, uint32_t reg)
{
    *reinterpret_cast<volatile uint32_t*>(base + kSelect) = reg;
    return *reinterpret_cast<volatile uint32_t*>(base + kWindow);
}

void write_reg(uint64_t base, uint32_t reg, uint32_t value)
{
    *reinterpret_cast<volatile uint32_t*>(base + kSelect) = reg;
    *reinterpret_cast<volatile uint32_t*>(base + kWindow) = value;
}

}  // namespace

Result<void> mirror_isa_irq_as_nmi(uint8_t irq)
{
    uint64_t base = memory::fixmap_mmio(memory::FixmapSlot::IoApic, kStandardBase);
    uint32_t version = read_reg(base, kRegVersion);
    // Bits 16-23: the highest input pin. ISA lines 1-15 are pins 1-15 on PCs.
    if (version == kAbsent || irq > ((version >> 16) & 0xFF))
        return Error::Absent;
    write_reg(base, kRegRedirection + 2 * irq + 1, 0);  // destination: APIC 0, the boot CPU
    write_reg(base, kRegRedirection + 2 * irq, kDeliveryNmi);
    return {};
}

void unmirror_isa_irq(uint8_t irq)
{
    write_reg(memory::fixmap_mmio(memory::FixmapSlot::IoApic, kStandardBase), kRegRedirection + 2 * irq, kMasked);
}

}  // namespace exo::ioapic
