// The PVH start-info parser over a fake physical memory (phys_memory.h:
// exact-size copies per read, freed at the next one): a region at 0x1000
// holding the structure, and another anywhere. Against a plain reading of
// Xen's start_info.h written here: the same verdict (bad magic, unreadable
// structure or memory map, a map that wraps), and on success the module
// count, RSDP, info block, the command line (byte by byte up to its NUL or
// 255 bytes, Unreadable when a byte cannot be read) and the memory map's
// non-empty entries, 64 at most (boot_info_check.h checks the rest).
// Input: u16 offset of the structure in the main region, the second
// region's base (u64) and length (u8) and bytes, then the main region.
#include <stdint.h>
#include <string.h>

#include <memory>
#include <string>
#include <vector>

#include "kernel/boot/pvh.h"
#include "tests/fuzz/boot_info_check.h"
#include "tests/fuzz/fuzz_check.h"
#include "tests/fuzz/fuzz_input.h"
#include "tests/fuzz/phys_memory.h"

using namespace exo;
using exo::fuzz::FakePhysMemory;

namespace {

constexpr uint64_t kMainBase = 0x1000;

struct Expected {
    Result<void> result;
    TextStatus cmdline_status = TextStatus::Absent;
    std::string cmdline;
    MemoryMapStatus map_status = MemoryMapStatus::Absent;
    std::vector<MemoryRegion> regions;
};

Expected expect(FakePhysMemory& mem, uint64_t phys)
{
    Expected e { {} };
    pvh::StartInfo si {};
    const uint8_t* raw = mem.find(phys, pvh::start_info_v0_size);
    if (raw == nullptr)
        return { Error::NotMapped };
    memcpy(&si, raw, pvh::start_info_v0_size);
    if (si.magic != pvh::start_magic)
        return { Error::InvalidArgument };
    if (si.version >= 1) {
        raw = mem.find(phys, sizeof si);
        if (raw == nullptr)
            return { Error::NotMapped };
        memcpy(&si, raw, sizeof si);
    }
    if (si.cmdline_paddr != 0) {
        e.cmdline_status = TextStatus::Complete;
        for (uint64_t a = si.cmdline_paddr;; ++a) {
            const uint8_t* byte = a < si.cmdline_paddr ? nullptr : mem.find(a, 1);
            if (byte == nullptr) {
                e.cmdline_status = TextStatus::Unreadable;
                e.cmdline.clear();
                break;
            }
            if (*byte == 0)
                break;
            e.cmdline += static_cast<char>(*byte);
            if (e.cmdline.size() == BootInfo::cmdline_capacity) {
                e.cmdline_status = TextStatus::Truncated;
                break;
            }
        }
    }
    if (si.version >= 1 && si.memmap_paddr != 0) {
        uint64_t bytes = uint64_t { si.memmap_entries } * sizeof(pvh::MemmapEntry);
        if (si.memmap_paddr + bytes < si.memmap_paddr)
            return { Error::Corrupt };
        e.map_status = MemoryMapStatus::Complete;
        for (uint32_t i = 0; i < si.memmap_entries; ++i) {
            if (e.regions.size() == BootInfo::max_regions) {
                e.map_status = MemoryMapStatus::Truncated;
                break;
            }
            raw = mem.find(si.memmap_paddr + uint64_t { i } * sizeof(pvh::MemmapEntry), sizeof(pvh::MemmapEntry));
            if (raw == nullptr)
                return { Error::NotMapped };
            pvh::MemmapEntry m;
            memcpy(&m, raw, sizeof m);
            uint64_t length = m.size < UINT64_MAX - m.addr ? m.size : UINT64_MAX - m.addr;
            if (length != 0)
                e.regions.push_back({ m.addr, length, memory_type_from_firmware(m.type) });
        }
    }
    return e;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    fuzz::FuzzInput in(data, size);
    uint16_t offset = in.take<uint16_t>();
    uint64_t other_base = in.take<uint64_t>();
    std::vector<uint8_t> other = in.bytes(in.byte());
    FakePhysMemory mem;
    mem.add(kMainBase, in.rest());
    mem.add(other_base, other);
    uint64_t phys = kMainBase + offset;

    auto info = std::make_unique<BootInfo>();
    Result<void> got = parse_pvh(phys, &FakePhysMemory::reader, &mem, *info);
    fuzz::check_regions(*info);
    Expected want = expect(mem, phys);
    FUZZ_CHECK(got.ok() == want.result.ok());
    if (!got.ok()) {
        FUZZ_CHECK(got.error() == want.result.error());
        return 0;
    }
    pvh::StartInfo si {};
    memcpy(&si, mem.find(phys, pvh::start_info_v0_size), pvh::start_info_v0_size);
    if (si.version >= 1)
        memcpy(&si, mem.find(phys, sizeof si), sizeof si);
    // Two reads of the structure, one per command line byte, one per map entry.
    FUZZ_CHECK(mem.reads() <= 2 + BootInfo::cmdline_capacity + uint64_t { si.version >= 1 ? si.memmap_entries : 0 });
    FUZZ_CHECK(info->source == BootSource::Pvh && info->module_count == si.nr_modules && info->rsdp_phys == si.rsdp_paddr);
    FUZZ_CHECK(info->info_block.base == phys);
    FUZZ_CHECK(info->info_block.length == (si.version >= 1 ? sizeof si : pvh::start_info_v0_size));
    FUZZ_CHECK(strcmp(info->loader_name, "PVH") == 0 && info->loader_name_status == TextStatus::Complete);
    FUZZ_CHECK(info->cmdline_status == want.cmdline_status);
    fuzz::check_text(info->cmdline, sizeof info->cmdline, info->cmdline_status, want.cmdline);
    FUZZ_CHECK(info->memory_map_status == want.map_status && info->region_count == want.regions.size());
    for (size_t i = 0; i < want.regions.size(); ++i) {
        FUZZ_CHECK(info->regions[i].base == want.regions[i].base && info->regions[i].length == want.regions[i].length);
        FUZZ_CHECK(info->regions[i].type == want.regions[i].type);
    }
    return 0;
}
