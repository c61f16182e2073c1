// What the kernel learns from its boot loader, in one fixed-size record that
// both boot paths (Multiboot2 from GRUB, PVH from QEMU -kernel) fill in. It
// holds copies, not pointers, so the loader's memory can be reclaimed once
// parsing is done (except the info block itself: see info_block).
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "kernel/mm/phys_range.h"

namespace exo {

enum class BootSource : uint8_t { Multiboot2, Pvh };

enum class MemoryType : uint8_t { Usable, Reserved, AcpiReclaimable, AcpiNvs, Bad };

// The firmware's memory types 1-5 (E820 and PVH: RAM, reserved, ACPI, NVS,
// unusable; Multiboot2 the same five) are MemoryType + 1; any other value
// stays out of the allocator as Reserved. Arithmetic, not a compare chain.
constexpr MemoryType memory_type_from_firmware(uint32_t type)
{
    return type - 1 < 5 ? static_cast<MemoryType>(type - 1) : MemoryType::Reserved;
}

struct MemoryRegion {
    uint64_t base;
    uint64_t length;
    MemoryType type;
};

// Whether the loader gave a memory map and whether all of it fit.
enum class MemoryMapStatus : uint8_t {
    Absent,     // no map (PVH version 0, or no Multiboot2 mmap tag)
    Complete,   // every non-empty entry is in regions[]
    Truncated,  // regions[] filled up; later entries were dropped
};

// State of a copied string (command line, loader name).
enum class TextStatus : uint8_t {
    Absent,      // the loader did not provide one
    Complete,    // copied whole
    Truncated,   // cut to fit (never inside a UTF-8 sequence)
    Unreadable,  // the loader pointed at memory we may not read; left empty
};


struct BootInfo {
    static constexpr size_t max_regions = 64;
    static constexpr size_t cmdline_capacity = 256;     // including the NUL
    static constexpr size_t loader_name_capacity = 64;  // including the NUL

    // Scalars first, arrays last: field accesses through a pointer then take
    // one-byte displacements.
    BootSource source { BootSource::Multiboot2 };
    MemoryMapStatus memory_map_status { MemoryMapStatus::Absent };
    TextStatus cmdline_status { TextStatus::Absent };
    TextStatus loader_name_status { TextStatus::Absent };
    uint32_t module_count { 0 };
    size_t region_count { 0 };

    // Physical address of an RSDP, 0 if unknown. For Multiboot2 this is the
    // copy inside the info block (so info_block must stay reserved while ACPI
    // code reads it); for PVH it is the firmware's own RSDP.
    uint64_t rsdp_phys { 0 };

    // Where the loader's info structure itself lives: the Multiboot2 block
    // (total_size bytes) or the PVH hvm_start_info (40 or 56 bytes).
    PhysRange info_block {};

    char loader_name[loader_name_capacity] {};

    // Raw loader order, not sorted or merged. Empty entries are skipped and
    // lengths are clamped so that base + length never wraps.
    MemoryRegion regions[max_regions] {};

    char cmdline[cmdline_capacity] {};

    constexpr bool regions_dropped() const { return memory_map_status == MemoryMapStatus::Truncated; }
    constexpr bool cmdline_truncated() const { return cmdline_status == TextStatus::Truncated; }
    constexpr bool has_rsdp() const { return rsdp_phys != 0; }

    constexpr uint64_t total_usable_bytes() const
    {
        uint64_t total = 0;
        for (size_t i = 0; i < region_count; ++i) {
            if (regions[i].type == MemoryType::Usable)
                total += regions[i].length;
        }
        return total;
    }

    // The map's usable RAM (usable = true) or everything else, as ranges,
    // in loader order. Firmware maps can overlap (a reserved hole inside a
    // RAM entry): the frame allocator takes the second list as reserved, so
    // usable RAM is clipped against it.
    constexpr size_t ranges(bool usable, PhysRange* out, size_t capacity) const
    {
        size_t n = 0;
        for (size_t i = 0; i < region_count && n < capacity; ++i) {
            if ((regions[i].type == MemoryType::Usable) == usable)
                out[n++] = { regions[i].base, regions[i].length };
        }
        return n;
    }

    // Appends a region. Returns false (and marks the map truncated) when the
    // array is full; empty regions are accepted and not stored (also one
    // the clamp empties: at base UINT64_MAX nothing fits). Out of line:
    // the Multiboot2 and PVH parsers each inlined a copy into kernel_main.
    [[gnu::noinline]] constexpr bool add_region(uint64_t base, uint64_t length, MemoryType type)
    {
        uint64_t room = UINT64_MAX - base;  // clamp so base + length cannot wrap
        if (length > room)
            length = room;
        if (length == 0)
            return true;
        if (region_count == max_regions) {
            memory_map_status = MemoryMapStatus::Truncated;
            return false;
        }
        regions[region_count++] = { base, length, type };
        return true;
    }
};

namespace boot_detail {

inline bool is_utf8_continuation(uint8_t c) { return (c & 0xC0) == 0x80; }
inline bool is_utf8_lead(uint8_t c) { return (c & 0xC0) == 0xC0; }

// NUL-terminates dst after `len` copied bytes (len < capacity) and returns
// `status`. When the source went on (Truncated) and its next byte continues a
// UTF-8 sequence, the partial sequence at the end of dst is dropped so the
// copy stays valid UTF-8.
inline TextStatus terminate_text(char* dst, size_t len, TextStatus status, uint8_t next_byte)
{
    if (status == TextStatus::Truncated && is_utf8_continuation(next_byte)) {
        // A UTF-8 sequence is at most 4 bytes: at most 3 of it can be here.
        size_t back = 0;
        while (len > 0 && back < 3 && is_utf8_continuation(static_cast<uint8_t>(dst[len - 1]))) {
            --len;
            ++back;
        }
        if (len > 0 && is_utf8_lead(static_cast<uint8_t>(dst[len - 1])))
            --len;
    }
    dst[len] = '\0';
    return status;
}

// Copies a string of at most src_max bytes (stopping at a NUL) into dst.
inline TextStatus copy_text(char* dst, size_t capacity, const uint8_t* src, size_t src_max)
{
    size_t len = 0;
    while (len < src_max && src[len] != 0)
        ++len;
    if (len < capacity) {
        __builtin_memcpy(dst, src, len);
        return terminate_text(dst, len, TextStatus::Complete, 0);
    }
    size_t kept = capacity - 1;
    __builtin_memcpy(dst, src, kept);
    return terminate_text(dst, kept, TextStatus::Truncated, src[kept]);
}

}  // namespace boot_detail

}  // namespace exo
