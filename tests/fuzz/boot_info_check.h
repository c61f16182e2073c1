// Checks shared by the Multiboot2 and PVH targets: what any BootInfo must
// satisfy, whatever the loader handed over, and how a copied string relates
// to its source (kernel/boot/boot_info.h).
#pragma once

#include <stdint.h>
#include <string.h>

#include <string>

#include "kernel/boot/boot_info.h"
#include "tests/fuzz/fuzz_check.h"

namespace exo::fuzz {

inline bool utf8_continuation(uint8_t c) { return (c & 0xC0) == 0x80; }

// `dst` (NUL-terminated in `capacity` bytes) against the source string
// (without its NUL): whole when it fits, else cut to capacity - 1 bytes
// and then back to before a UTF-8 sequence the cut would split (the lead
// byte and at most three continuation bytes dropped).
inline void check_text(const char* dst, size_t capacity, TextStatus status, const std::string& source)
{
    size_t n = strnlen(dst, capacity);
    FUZZ_CHECK(n < capacity);
    if (status == TextStatus::Absent || status == TextStatus::Unreadable) {
        FUZZ_CHECK(n == 0);
        return;
    }
    FUZZ_CHECK(source.compare(0, n, dst, n) == 0);
    if (status == TextStatus::Complete) {
        FUZZ_CHECK(n == source.size());
        return;
    }
    FUZZ_CHECK(status == TextStatus::Truncated && source.size() >= capacity);
    std::string dropped = source.substr(n, capacity - 1 - n);
    FUZZ_CHECK(dropped.size() <= 4);
    if (dropped.empty())
        return;
    FUZZ_CHECK(utf8_continuation(static_cast<uint8_t>(source[capacity - 1])));
    for (size_t i = 1; i < dropped.size(); ++i)
        FUZZ_CHECK(utf8_continuation(static_cast<uint8_t>(dropped[i])));
}

inline void check_regions(const BootInfo& info)
{
    FUZZ_CHECK(info.region_count <= BootInfo::max_regions);
    if (info.memory_map_status == MemoryMapStatus::Truncated)
        FUZZ_CHECK(info.region_count == BootInfo::max_regions);
    if (info.memory_map_status == MemoryMapStatus::Absent)
        FUZZ_CHECK(info.region_count == 0);
    uint64_t usable = 0;
    for (size_t i = 0; i < info.region_count; ++i) {
        const MemoryRegion& r = info.regions[i];
        FUZZ_CHECK(r.length != 0 && r.length <= UINT64_MAX - r.base);
        FUZZ_CHECK(static_cast<uint8_t>(r.type) <= static_cast<uint8_t>(MemoryType::Bad));
        if (r.type == MemoryType::Usable)
            usable += r.length;
    }
    FUZZ_CHECK(info.total_usable_bytes() == usable);
}

inline bool same_regions(const BootInfo& a, const BootInfo& b)
{
    if (a.region_count != b.region_count || a.memory_map_status != b.memory_map_status)
        return false;
    for (size_t i = 0; i < a.region_count; ++i) {
        if (a.regions[i].base != b.regions[i].base || a.regions[i].length != b.regions[i].length
            || a.regions[i].type != b.regions[i].type)
            return false;
    }
    return true;
}

// Field by field: padding bytes are not part of the value.
inline bool same_info(const BootInfo& a, const BootInfo& b)
{
    return a.source == b.source && a.cmdline_status == b.cmdline_status && a.loader_name_status == b.loader_name_status
        && a.module_count == b.module_count && a.rsdp_phys == b.rsdp_phys && a.info_block.base == b.info_block.base
        && a.info_block.length == b.info_block.length && strcmp(a.cmdline, b.cmdline) == 0
        && strcmp(a.loader_name, b.loader_name) == 0 && same_regions(a, b);
}

}  // namespace exo::fuzz
