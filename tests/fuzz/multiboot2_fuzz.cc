// The Multiboot2 information parser over any block (an exact-size copy, so
// ASan sees a read past it). Against a plain walk of the tags written here
// (Multiboot2 spec 3.6): a block the walk finds well-formed parses, with the
// last command line and loader name, the module count, the memory map's
// non-empty entries in order (64 at most) and the newest RSDP copy; any
// BootInfo, even after an error, is consistent (boot_info_check.h). Reading
// stops at total_size: the same block with more readable bytes after it
// parses the same. A wrong magic is refused.
// Input: the block (tests/fixtures/grub_mbi.bin is one).
#include <stdint.h>
#include <string.h>

#include <memory>
#include <string>
#include <vector>

#include "kernel/boot/multiboot2.h"
#include "tests/fuzz/boot_info_check.h"
#include "tests/fuzz/fuzz_check.h"

using namespace exo;

namespace {

constexpr uint64_t kInfoPhys = 0x10000;

uint32_t u32(const uint8_t* p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

uint64_t u64(const uint8_t* p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

// What a correct parse of a well-formed block gives.
struct Walk {
    bool well_formed = false;
    std::string cmdline, loader_name;
    bool has_cmdline = false, has_loader_name = false, has_mmap = false;
    uint32_t modules = 0;
    std::vector<MemoryRegion> regions;
    bool regions_dropped = false;
    uint64_t rsdp = 0;
};

std::string c_string(const uint8_t* p, size_t max)
{
    return std::string(reinterpret_cast<const char*>(p), strnlen(reinterpret_cast<const char*>(p), max));
}

Walk walk(const uint8_t* block, size_t size)
{
    Walk w;
    if (size < 16)
        return w;
    size_t total = u32(block);
    if (total < 16 || total > size)
        return w;
    bool new_rsdp = false;
    for (size_t at = 8; at + 8 <= total; at = (at + u32(block + at + 4) + 7) / 8 * 8) {
        uint32_t type = u32(block + at), tag_size = u32(block + at + 4);
        if (tag_size < 8 || tag_size > total - at)
            return w;
        const uint8_t* payload = block + at + 8;
        size_t payload_size = tag_size - 8;
        if (type == 0) {
            w.well_formed = true;
            return w;
        }
        if (type == 1 || type == 2) {
            (type == 1 ? w.cmdline : w.loader_name) = c_string(payload, payload_size);
            (type == 1 ? w.has_cmdline : w.has_loader_name) = true;
        } else if (type == 3) {
            if (tag_size < 16)
                return w;
            ++w.modules;
        } else if (type == 6) {
            if (tag_size < 16 || u32(payload) < 24)
                return w;
            w.has_mmap = true;
            size_t entry_size = u32(payload);
            for (size_t e = 8; e + entry_size <= payload_size; e += entry_size) {
                uint64_t base = u64(payload + e), length = u64(payload + e + 8);
                uint32_t kind = u32(payload + e + 16);
                length = length < UINT64_MAX - base ? length : UINT64_MAX - base;  // base + length cannot wrap
                if (length == 0)
                    continue;
                if (w.regions.size() == BootInfo::max_regions) {
                    w.regions_dropped = true;
                    break;
                }
                MemoryType t = kind >= 1 && kind <= 5 ? static_cast<MemoryType>(kind - 1) : MemoryType::Reserved;
                w.regions.push_back({ base, length, t });
            }
        } else if (type == 14 || type == 15) {
            if (payload_size < (type == 15 ? 36u : 20u))
                return w;
            if (type == 15 || !new_rsdp)
                w.rsdp = kInfoPhys + at + 8;
            new_rsdp = new_rsdp || type == 15;
        }
        if ((tag_size + 7) / 8 * 8 > total - at)
            return w;  // padding past the end: no room for an end tag
    }
    return w;
}

void check_against(const BootInfo& info, const Walk& w, size_t total)
{
    FUZZ_CHECK(info.info_block.base == kInfoPhys && info.info_block.length == total);
    FUZZ_CHECK(info.module_count == w.modules && info.rsdp_phys == w.rsdp);
    FUZZ_CHECK((info.cmdline_status != TextStatus::Absent) == w.has_cmdline);
    FUZZ_CHECK((info.loader_name_status != TextStatus::Absent) == w.has_loader_name);
    fuzz::check_text(info.cmdline, sizeof info.cmdline, info.cmdline_status, w.cmdline);
    fuzz::check_text(info.loader_name, sizeof info.loader_name, info.loader_name_status, w.loader_name);
    FUZZ_CHECK(info.region_count == w.regions.size());
    for (size_t i = 0; i < w.regions.size(); ++i) {
        FUZZ_CHECK(info.regions[i].base == w.regions[i].base && info.regions[i].length == w.regions[i].length);
        FUZZ_CHECK(info.regions[i].type == w.regions[i].type);
    }
    MemoryMapStatus status = !w.has_mmap ? MemoryMapStatus::Absent
        : w.regions_dropped             ? MemoryMapStatus::Truncated
                                        : MemoryMapStatus::Complete;
    FUZZ_CHECK(info.memory_map_status == status);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    std::unique_ptr<uint8_t[]> block(new uint8_t[size]);
    memcpy(block.get(), data, size);
    auto info = std::make_unique<BootInfo>();
    Result<void> got = parse_multiboot2(mb2::boot_magic, block.get(), size, kInfoPhys, *info);
    fuzz::check_regions(*info);
    FUZZ_CHECK(strnlen(info->cmdline, sizeof info->cmdline) < sizeof info->cmdline);
    FUZZ_CHECK(strnlen(info->loader_name, sizeof info->loader_name) < sizeof info->loader_name);

    Walk w = walk(data, size);
    FUZZ_CHECK(got.ok() == w.well_formed);
    if (got.ok())
        check_against(*info, w, u32(data));
    else if (size >= 8 && u32(data) >= 16 && u32(data) <= size)
        FUZZ_CHECK(got.error() == Error::Corrupt);

    // More readable memory after the block changes nothing.
    if (size >= 8 && u32(data) <= size) {
        std::vector<uint8_t> longer(data, data + size);
        longer.resize(size + 64, 0xA5);
        auto again = std::make_unique<BootInfo>();
        Result<void> got2 = parse_multiboot2(mb2::boot_magic, longer.data(), longer.size(), kInfoPhys, *again);
        FUZZ_CHECK(got2.ok() == got.ok() && (got.ok() || got2.error() == got.error()));
        FUZZ_CHECK(fuzz::same_info(*info, *again));
    }
    FUZZ_CHECK(parse_multiboot2(mb2::boot_magic ^ 1, block.get(), size, kInfoPhys, *info).error()
        == Error::InvalidArgument);
    return 0;
}
