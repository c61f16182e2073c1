// Multiboot2 boot information: the layouts and constants we read, from the
// Multiboot2 Specification version 2.0, section 3.6 "Boot information"
// (section names cited per item), and the parser into BootInfo.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "kernel/boot/boot_info.h"
#include "kernel/lib/result.h"

namespace exo {

namespace mb2 {

// 3.3 "I386 machine state": EAX holds this when the loader enters the kernel.
constexpr uint32_t boot_magic = 0x36d76289;

// 3.6.2 "Basic tags structure": the block and every tag start 8-byte aligned.
constexpr size_t tag_alignment = 8;

// 3.6.2: fixed part of the information block.
struct InfoHeader {
    uint32_t total_size;  // whole block, including this header and the end tag
    uint32_t reserved;
};
static_assert(sizeof(InfoHeader) == 8);

// 3.6.2: every tag starts with this; size counts the header, not the padding.
struct TagHeader {
    uint32_t type;
    uint32_t size;
};
static_assert(sizeof(TagHeader) == 8);

// Smallest valid block: the fixed part plus the end tag.
constexpr size_t min_info_size = sizeof(InfoHeader) + sizeof(TagHeader);

// 3.6 tag type numbers (only the ones we read, plus the ones we skip by name).
enum class TagType : uint32_t {
    End = 0,             // 3.6.2 "Basic tags structure": type 0, size 8
    Cmdline = 1,         // 3.6.5 "Boot command line"
    BootLoaderName = 2,  // 3.6.9 "Boot loader name"
    Module = 3,          // 3.6.6 "Modules"
    BasicMeminfo = 4,    // 3.6.3 "Basic memory information"
    BootDevice = 5,      // 3.6.4 "BIOS Boot device"
    Mmap = 6,            // 3.6.8 "Memory map"
    AcpiOld = 14,        // 3.6.16 "ACPI old RSDP": copy of an ACPI 1.0 RSDP
    AcpiNew = 15,        // 3.6.17 "ACPI new RSDP": copy of an ACPI 2.0+ RSDP
};

// 3.6.6 "Modules": fixed part, followed by a NUL-terminated string.
struct ModuleTag {
    TagHeader header;
    uint32_t mod_start;
    uint32_t mod_end;
};
static_assert(sizeof(ModuleTag) == 16);

// 3.6.8 "Memory map": fixed part, followed by entries of entry_size bytes
// (a multiple of 8, at least sizeof(MmapEntry); later versions may append
// fields, so step by entry_size, not by sizeof).
struct MmapTag {
    TagHeader header;
    uint32_t entry_size;
    uint32_t entry_version;  // 0 in this version of the spec
};
static_assert(sizeof(MmapTag) == 16);

struct MmapEntry {
    uint64_t base_addr;
    uint64_t length;
    uint32_t type;
    uint32_t reserved;
};
static_assert(sizeof(MmapEntry) == 24);

// 3.6.8 memory map entry types; any other value is reserved memory.
enum class MmapType : uint32_t {
    Available = 1,
    Reserved = 2,
    AcpiReclaimable = 3,
    Nvs = 4,  // "reserved memory which needs to be preserved on hibernation"
    Bad = 5,  // "defective RAM modules"
};

// ACPI 6.5 section 5.2.5.3 "Root System Description Pointer (RSDP)
// Structure": the revision 0 (ACPI 1.0) layout is 20 bytes, revision 2 is 36.
// 3.6.16 / 3.6.17 tags carry such a copy right after the tag header.
constexpr size_t rsdp_v1_size = 20;
constexpr size_t rsdp_v2_size = 36;

}  // namespace mb2

// Parses the Multiboot2 information block at `info` (readable_len bytes may be
// read there; info_phys is its physical address) into `out`, which is reset
// first. Errors: InvalidArgument for a wrong `magic` (the caller prints it) or
// a null/too-short window, TooLong if total_size exceeds readable_len, Corrupt
// for a malformed block (bad total_size, a tag smaller than its header or its
// fixed fields, a tag running past total_size, no end tag). On error `out`
// holds whatever was parsed before the fault.
Result<void> parse_multiboot2(uint32_t magic, const uint8_t* info, size_t readable_len, uint64_t info_phys,
                              BootInfo& out);

}  // namespace exo
