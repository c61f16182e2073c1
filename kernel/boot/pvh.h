// PVH boot: the start-of-day structure a PVH loader (Xen, QEMU -kernel with
// an XEN_ELFNOTE_PHYS32_ENTRY note) passes in %ebx, and the parser into
// BootInfo. Layouts follow the semantics of Xen's public header
// xen/include/public/arch-x86/hvm/start_info.h; the definitions are our own.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "kernel/boot/boot_info.h"
#include "kernel/lib/result.h"

namespace exo {

namespace pvh {

// start_info.h: XEN_HVM_START_MAGIC_VALUE, "xEn3" with the 0x80 bit of the E set.
constexpr uint32_t start_magic = 0x336ec578;

// start_info.h: all fields little endian; a 0 address means "not present"
// (nothing is ever loaded at physical address 0).
struct StartInfo {
    uint32_t magic;
    uint32_t version;     // 0: fields up to rsdp_paddr; 1: adds the memory map
    uint32_t flags;       // SIF_xxx, unused here
    uint32_t nr_modules;
    uint64_t modlist_paddr;   // array of nr_modules ModlistEntry
    uint64_t cmdline_paddr;   // NUL-terminated ASCII
    uint64_t rsdp_paddr;
    // Version 1 and later only:
    uint64_t memmap_paddr;    // array of memmap_entries MemmapEntry
    uint32_t memmap_entries;
    uint32_t reserved;        // must be zero
};
static_assert(sizeof(StartInfo) == 56);

// Size of the version 0 structure: everything before memmap_paddr.
constexpr size_t start_info_v0_size = offsetof(StartInfo, memmap_paddr);
static_assert(start_info_v0_size == 40);
constexpr uint32_t memmap_min_version = 1;

// start_info.h: hvm_modlist_entry (we only count modules; kept for reference).
struct ModlistEntry {
    uint64_t paddr;
    uint64_t size;
    uint64_t cmdline_paddr;
    uint64_t reserved;
};
static_assert(sizeof(ModlistEntry) == 32);

// start_info.h: hvm_memmap_table_entry.
struct MemmapEntry {
    uint64_t addr;
    uint64_t size;
    uint32_t type;
    uint32_t reserved;
};
static_assert(sizeof(MemmapEntry) == 24);

// start_info.h XEN_HVM_MEMMAP_TYPE_*: the E820 types plus Xen's additions.
enum class MemmapType : uint32_t {
    Ram = 1,
    Reserved = 2,
    Acpi = 3,      // ACPI tables, reclaimable after reading them
    Nvs = 4,       // ACPI NVS, must be preserved
    Unusable = 5,  // known bad memory
    Disabled = 6,
    Pmem = 7,      // persistent memory: not general-purpose RAM
};

// Longest command line we read, excluding the NUL.
constexpr size_t max_cmdline_len = BootInfo::cmdline_capacity - 1;

}  // namespace pvh

// PVH structures point at other physical memory; the caller supplies the way
// to read it. Returns a pointer to `len` readable bytes at `phys`, or nullptr
// if that range may not be read (not mapped, out of RAM, ...).
using PhysReader = const uint8_t* (*)(void* ctx, uint64_t phys, size_t len);

// Parses the hvm_start_info at start_info_phys into `out` (reset first).
// Version 0 has no memory map: memory_map_status is then Absent, not an error.
// An unreadable command line leaves cmdline_status Unreadable, not an error.
// Errors: InvalidArgument for a null reader, address 0 or a wrong magic;
// NotMapped if the structure or its memory map cannot be read; Corrupt if the
// memory map's address range wraps around.
Result<void> parse_pvh(uint64_t start_info_phys, PhysReader read, void* ctx, BootInfo& out);

}  // namespace exo
