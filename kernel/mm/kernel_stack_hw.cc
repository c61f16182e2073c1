#include "kernel/mm/kernel_stack_hw.h"

#include "kernel/arch/x86_64/cpu.h"
#include "kernel/mm/memory_hw.h"

namespace exo {
namespace {

constexpr uint64_t kPage = 4096;
// PML4[511], PDPT[511]: the last GiB, above the kernel image (PDPT[510]).
constexpr uint64_t kStackRegion = 0xFFFFFFFFC0000000;
constexpr uint64_t kSlotBytes = (kKernelStackPages + 4) * kPage;  // guard + stack + spacing
constexpr uint32_t kSlots = kKernelStackSlots;

// Slot bitmap; changed only with interrupts off.
constinit uint64_t g_slots_used = 0;

}  // namespace

Result<void> alloc_kernel_stack(KernelStack& out)
{
    cpu::InterruptGuard guard;
    uint32_t slot = 0;
    while (slot < kSlots && (g_slots_used & (1ull << slot)))
        ++slot;
    if (slot == kSlots)
        return Error::Busy;  // every slot in use: not the same as memory running out
    KernelStack s;
    s.slot = slot;
    s.base = kStackRegion + slot * kSlotBytes + kPage;  // first page of the slot is the guard
    s.top = s.base + kKernelStackPages * kPage;
    PageTable& pt = memory::kernel_page_table();
    for (size_t i = 0; i < kKernelStackPages; ++i) {
        Result<void> mapped = Error::NoMemory;
        if (Result<uint64_t> frame = memory::alloc_frame(); frame.ok())
            mapped = pt.map(s.base + i * kPage, frame.value(), PageSize::Size4K, PageFlags::Writable);
        if (!mapped.ok()) {
            free_kernel_stack(s);  // the pages not mapped yet fail to unmap: skipped
            return mapped.error();
        }
    }
    __builtin_memset(reinterpret_cast<void*>(s.base), kStackFillByte, kKernelStackPages * kPage);
    g_slots_used |= 1ull << slot;
    out = s;
    return {};
}

KernelStack static_kernel_stack(uint8_t* base)
{
    __builtin_memset(base, kStackFillByte, kKernelStackPages * kPage);
    uint64_t b = reinterpret_cast<uint64_t>(base);
    return KernelStack { b, b + kKernelStackPages * kPage, KernelStack::kStaticSlot };
}

void free_kernel_stack(const KernelStack& s)
{
    if (s.slot == KernelStack::kStaticSlot)
        return;
    cpu::InterruptGuard guard;
    PageTable& pt = memory::kernel_page_table();
    for (size_t i = 0; i < kKernelStackPages; ++i) {
        if (Result<uint64_t> phys = pt.unmap(s.base + i * kPage); phys.ok())
            memory::free_frame(phys.value());
    }
    g_slots_used &= ~(1ull << s.slot);
}

size_t kernel_stack_used(const KernelStack& s)
{
    auto* p = reinterpret_cast<const uint8_t*>(s.base);
    size_t untouched = 0;
    while (untouched < kKernelStackPages * kPage && p[untouched] == kStackFillByte)
        ++untouched;
    return kKernelStackPages * kPage - untouched;
}

}  // namespace exo
