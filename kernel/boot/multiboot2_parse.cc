// Multiboot2 information block -> BootInfo. Every read is checked against the
// block's total_size, which is itself checked against what the caller can
// read, so a malformed block yields Corrupt rather than a stray read.
#include "kernel/boot/multiboot2.h"

namespace exo {

namespace {

// The block is 8-byte aligned by spec, but host tests and future callers may
// hand us any pointer: copy out instead of dereferencing a cast.
template<typename T>
T load(const uint8_t* p)
{
    T value;
    __builtin_memcpy(&value, p, sizeof(T));
    return value;
}

static_assert(memory_type_from_firmware(static_cast<uint32_t>(mb2::MmapType::Available)) == MemoryType::Usable
    && memory_type_from_firmware(static_cast<uint32_t>(mb2::MmapType::Reserved)) == MemoryType::Reserved
    && memory_type_from_firmware(static_cast<uint32_t>(mb2::MmapType::AcpiReclaimable)) == MemoryType::AcpiReclaimable
    && memory_type_from_firmware(static_cast<uint32_t>(mb2::MmapType::Nvs)) == MemoryType::AcpiNvs
    && memory_type_from_firmware(static_cast<uint32_t>(mb2::MmapType::Bad)) == MemoryType::Bad
    && memory_type_from_firmware(0) == MemoryType::Reserved);  // 3.6.8: every other value is reserved

// `tag` points at a tag whose `size` bytes are known to be inside the block.
Result<void> parse_mmap(const uint8_t* tag, uint32_t size, BootInfo& out)
{
    if (size < sizeof(mb2::MmapTag))
        return Error::Corrupt;
    auto header = load<mb2::MmapTag>(tag);
    if (header.entry_size < sizeof(mb2::MmapEntry))
        return Error::Corrupt;

    if (out.memory_map_status == MemoryMapStatus::Absent)
        out.memory_map_status = MemoryMapStatus::Complete;
    // A trailing partial entry (size not a multiple of entry_size) is ignored.
    size_t count = (size - sizeof(mb2::MmapTag)) / header.entry_size;
    const uint8_t* entry = tag + sizeof(mb2::MmapTag);
    for (size_t i = 0; i < count; ++i, entry += header.entry_size) {
        auto e = load<mb2::MmapEntry>(entry);
        if (!out.add_region(e.base_addr, e.length, memory_type_from_firmware(e.type)))
            break;
    }
    return {};
}

Result<void> parse_rsdp_tag(mb2::TagType type, uint32_t size, uint64_t tag_phys, BootInfo& out,
                            bool& have_new_rsdp)
{
    size_t rsdp_size = type == mb2::TagType::AcpiNew ? mb2::rsdp_v2_size : mb2::rsdp_v1_size;
    if (size < sizeof(mb2::TagHeader) + rsdp_size)
        return Error::Corrupt;
    // The ACPI 2.0+ copy (with the XSDT address) wins whatever the tag order.
    if (type == mb2::TagType::AcpiOld && have_new_rsdp)
        return {};
    if (type == mb2::TagType::AcpiNew)
        have_new_rsdp = true;
    out.rsdp_phys = tag_phys + sizeof(mb2::TagHeader);
    return {};
}

}  // namespace

Result<void> parse_multiboot2(uint32_t magic, const uint8_t* info, size_t readable_len, uint64_t info_phys,
                              BootInfo& out)
{
    out = BootInfo {};
    out.source = BootSource::Multiboot2;
    if (magic != mb2::boot_magic || info == nullptr || readable_len < sizeof(mb2::InfoHeader))
        return Error::InvalidArgument;

    auto header = load<mb2::InfoHeader>(info);
    if (header.total_size < mb2::min_info_size)
        return Error::Corrupt;
    if (header.total_size > readable_len)
        return Error::TooLong;
    size_t total = header.total_size;
    out.info_block = { info_phys, total };

    bool have_new_rsdp = false;
    size_t offset = sizeof(mb2::InfoHeader);
    // Invariant at the top: offset is 8-aligned and offset + 8 <= total is
    // checked before the tag header is read.
    while (total - offset >= sizeof(mb2::TagHeader)) {
        const uint8_t* tag = info + offset;
        auto th = load<mb2::TagHeader>(tag);
        if (th.size < sizeof(mb2::TagHeader) || th.size > total - offset)
            return Error::Corrupt;
        const uint8_t* payload = tag + sizeof(mb2::TagHeader);
        size_t payload_len = th.size - sizeof(mb2::TagHeader);

        switch (static_cast<mb2::TagType>(th.type)) {
        case mb2::TagType::End:
            return {};
        case mb2::TagType::Cmdline:
            out.cmdline_status = boot_detail::copy_text(out.cmdline, sizeof(out.cmdline), payload, payload_len);
            break;
        case mb2::TagType::BootLoaderName:
            out.loader_name_status =
                boot_detail::copy_text(out.loader_name, sizeof(out.loader_name), payload, payload_len);
            break;
        case mb2::TagType::Module:
            if (th.size < sizeof(mb2::ModuleTag))
                return Error::Corrupt;
            ++out.module_count;
            break;
        case mb2::TagType::Mmap:
            TRY_VOID(parse_mmap(tag, th.size, out));
            break;
        case mb2::TagType::AcpiOld:
        case mb2::TagType::AcpiNew:
            TRY_VOID(parse_rsdp_tag(static_cast<mb2::TagType>(th.type), th.size, info_phys + offset, out,
                                    have_new_rsdp));
            break;
        case mb2::TagType::BasicMeminfo:  // the mmap tag says the same, better
        case mb2::TagType::BootDevice:
            break;
        }
        // Unknown types land here too: skip by size, rounded up to 8 (3.6.2).
        size_t step = (th.size + mb2::tag_alignment - 1) & ~(mb2::tag_alignment - 1);
        if (step > total - offset)
            break;  // padding runs off the block: there is no room for an end tag
        offset += step;
    }
    return Error::Corrupt;  // no end tag before total_size
}

}  // namespace exo
