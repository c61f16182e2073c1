// PVH hvm_start_info -> BootInfo. Everything the structure points at is read
// through the caller's PhysReader in small pieces, so nothing outside the
// ranges it approves is ever touched.
#include "kernel/boot/pvh.h"

namespace exo {

namespace {

constexpr char pvh_loader_name[] = "PVH";

static_assert(memory_type_from_firmware(static_cast<uint32_t>(pvh::MemmapType::Ram)) == MemoryType::Usable
    && memory_type_from_firmware(static_cast<uint32_t>(pvh::MemmapType::Acpi)) == MemoryType::AcpiReclaimable
    && memory_type_from_firmware(static_cast<uint32_t>(pvh::MemmapType::Nvs)) == MemoryType::AcpiNvs
    && memory_type_from_firmware(static_cast<uint32_t>(pvh::MemmapType::Unusable)) == MemoryType::Bad
    && memory_type_from_firmware(static_cast<uint32_t>(pvh::MemmapType::Disabled)) == MemoryType::Reserved
    && memory_type_from_firmware(static_cast<uint32_t>(pvh::MemmapType::Pmem)) == MemoryType::Reserved);

// Byte by byte, so a string that ends just before unreadable memory is fine
// and one that runs into it is caught without reading past the boundary.
void read_cmdline(uint64_t phys, PhysReader read, void* ctx, BootInfo& out)
{
    if (phys == 0) {
        out.cmdline_status = TextStatus::Absent;
        return;
    }
    for (size_t len = 0;; ++len) {
        const uint8_t* byte = phys + len < phys ? nullptr : read(ctx, phys + len, 1);
        if (byte == nullptr) {
            out.cmdline[0] = '\0';
            out.cmdline_status = TextStatus::Unreadable;
            return;
        }
        if (*byte == 0) {
            out.cmdline_status = boot_detail::terminate_text(out.cmdline, len, TextStatus::Complete, 0);
            return;
        }
        if (len == pvh::max_cmdline_len) {
            out.cmdline_status = boot_detail::terminate_text(out.cmdline, len, TextStatus::Truncated, *byte);
            return;
        }
        out.cmdline[len] = static_cast<char>(*byte);
    }
}

Result<void> read_memmap(uint64_t phys, uint32_t entries, PhysReader read, void* ctx, BootInfo& out)
{
    if (phys == 0) {
        out.memory_map_status = MemoryMapStatus::Absent;
        return {};
    }
    uint64_t table_len = uint64_t(entries) * sizeof(pvh::MemmapEntry);  // < 2^37, no overflow
    if (phys > UINT64_MAX - table_len)
        return Error::Corrupt;

    out.memory_map_status = MemoryMapStatus::Complete;
    // One entry per read: the table may be long, but we stop reading once
    // regions[] is full (any further entry counts as dropped).
    for (uint32_t i = 0; i < entries; ++i) {
        if (out.region_count == BootInfo::max_regions) {
            out.memory_map_status = MemoryMapStatus::Truncated;
            break;
        }
        const uint8_t* raw = read(ctx, phys + uint64_t(i) * sizeof(pvh::MemmapEntry), sizeof(pvh::MemmapEntry));
        if (raw == nullptr)
            return Error::NotMapped;
        pvh::MemmapEntry e;
        __builtin_memcpy(&e, raw, sizeof(e));
        out.add_region(e.addr, e.size, memory_type_from_firmware(e.type));
    }
    return {};
}

}  // namespace

Result<void> parse_pvh(uint64_t start_info_phys, PhysReader read, void* ctx, BootInfo& out)
{
    out = BootInfo {};
    out.source = BootSource::Pvh;
    if (read == nullptr || start_info_phys == 0)
        return Error::InvalidArgument;

    // Read the version 0 part first: a v0 structure may sit right at the end
    // of readable memory, so asking for 56 bytes up front could fail.
    // From version 1 on it is read again, whole: one read-and-check loop
    // for both (the fields past the version 0 part are only used then).
    pvh::StartInfo si;
    size_t info_size = pvh::start_info_v0_size;
    for (;;) {
        const uint8_t* raw = read(ctx, start_info_phys, info_size);
        if (raw == nullptr)
            return Error::NotMapped;
        __builtin_memcpy(&si, raw, info_size);
        if (si.magic != pvh::start_magic)
            return Error::InvalidArgument;
        // Later versions only append fields; we know the first 56 bytes.
        if (si.version < pvh::memmap_min_version || info_size == sizeof(pvh::StartInfo))
            break;
        info_size = sizeof(pvh::StartInfo);
    }
    out.info_block = { start_info_phys, info_size };
    out.module_count = si.nr_modules;
    out.rsdp_phys = si.rsdp_paddr;
    __builtin_memcpy(out.loader_name, pvh_loader_name, sizeof(pvh_loader_name));
    out.loader_name_status = TextStatus::Complete;

    read_cmdline(si.cmdline_paddr, read, ctx, out);
    if (si.version >= pvh::memmap_min_version)
        TRY_VOID(read_memmap(si.memmap_paddr, si.memmap_entries, read, ctx, out));
    return {};
}

}  // namespace exo
