// The local APIC's only job here: pass the 8259's interrupts through. On
// `pc` SeaBIOS sets LINT0 to ExtINT; qboot (microvm) leaves the APIC alone,
// so without this no IRQ would ever reach the CPU (SDM Vol. 3A §10.5.1).
#include "kernel/arch/x86_64/cpu.h"
#include "kernel/platform/boot_sequence.h"
#include "kernel/platform/klog.h"
#include "kernel/platform/memory.h"

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
    uint64_t virt = memory::kDirectMapBase + phys;
    Result<void> mapped = memory::kernel_page_table().map(virt, phys, PageSize::Size4K,
        PageFlags::Writable | PageFlags::CacheDisable);
    if (!mapped.ok() && mapped.error() != Error::Busy)
        return mapped.error();
    write_reg(virt, kSpuriousVector, kSvrEnable | kSpurious);
    write_reg(virt, kLvtLint0, kDeliveryExtInt);
    write_reg(virt, kLvtLint1, kDeliveryNmi);
    return {};
}

}  // namespace

EXO_BOOT_TASK(kLapicTask, "lapic", BootPhase::Essential, route_pic_through_lapic, "paging", "idt");

}  // namespace exo::lapic
