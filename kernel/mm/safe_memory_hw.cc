#include "kernel/mm/safe_memory_hw.h"

#include "kernel/arch/x86_64/idt.h"
#include "kernel/boot/boot_sequence_hw.h"
#include "kernel/mm/memory_hw.h"

extern "C" size_t safe_copy(void* dst, const void* src, size_t n);
extern "C" const char safe_copy_begin[], safe_copy_end[], safe_copy_fault[];

namespace exo::safe_memory {
namespace {

constexpr uint64_t kPage = 4096;

bool fixup(TrapFrame& frame)
{
    if (frame.rip < reinterpret_cast<uint64_t>(safe_copy_begin) ||
        frame.rip >= reinterpret_cast<uint64_t>(safe_copy_end))
        return false;
    frame.rip = reinterpret_cast<uint64_t>(safe_copy_fault);
    return true;
}

Result<void> install()
{
    idt::set_exception_hook(idt::vector::kPageFault, fixup);
    idt::set_exception_hook(idt::vector::kGeneralProtection, fixup);
    return {};
}

// Length of the mapped prefix of [addr, addr+len), in page-sized steps.
size_t mapped_prefix(uint64_t addr, size_t len)
{
    size_t done = 0;
    while (done < len) {
        uint64_t at = addr + done;
        size_t chunk = kPage - (at & (kPage - 1));
        if (chunk > len - done)
            chunk = len - done;
        if (!memory::is_readable(at, chunk))
            break;
        done += chunk;
    }
    return done;
}

}  // namespace

EXO_BOOT_TASK(kSafeMemoryTask, "safe-memory", BootPhase::Critical, install, "idt", "paging");

Result<size_t> read(uint64_t addr, void* out, size_t len)
{
    if (!PageTable::is_canonical(addr))
        return Error::InvalidArgument;
    size_t ok = mapped_prefix(addr, len);
    if (ok == 0 && len != 0)
        return Error::NotMapped;
    return safe_copy(out, reinterpret_cast<const void*>(addr), ok);
}

Result<uint8_t*> writable_alias(uint64_t addr)
{
    if (!PageTable::is_canonical(addr))
        return Error::InvalidArgument;
    Result<Translation> t = memory::kernel_page_table().translate(addr);
    // The direct map covers RAM only: MMIO and holes have no alias.
    if (!t.ok() || has(t.value().flags, PageFlags::User) || !memory::early_phys_to_virt(t.value().phys, 1))
        return Error::NotMapped;
    return static_cast<uint8_t*>(memory::phys_to_virt(t.value().phys));
}

Result<size_t> write(uint64_t addr, const void* in, size_t len)
{
    size_t done = 0;
    auto* src = static_cast<const uint8_t*>(in);
    while (done < len) {
        uint64_t at = addr + done;
        Result<uint8_t*> alias = writable_alias(at);
        if (!alias.ok())
            break;
        size_t chunk = kPage - (at & (kPage - 1));
        if (chunk > len - done)
            chunk = len - done;
        // Kernel code's alias is read-only: writable for this copy only.
        uint64_t at_alias = reinterpret_cast<uint64_t>(alias.value());
        bool unlocked = memory::set_alias_writable(at_alias, true);
        size_t n = safe_copy(alias.value(), src + done, chunk);
        if (unlocked)
            memory::set_alias_writable(at_alias, false);
        done += n;
        if (n != chunk)
            break;
    }
    if (done == 0 && len != 0)
        return Error::NotMapped;
    return done;
}

}  // namespace exo::safe_memory
