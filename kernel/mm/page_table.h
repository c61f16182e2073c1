// x86_64 4-level page tables (Intel SDM Vol. 3A §4.5): an editor (map, unmap,
// protect) and read-only walkers (translate, walk, for_each_range) over a
// PML4 given by physical address. All physical memory is reached through a
// PhysAccess seam, so the same code edits the live tables in the kernel and
// a std::vector of pages in the host tests.
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <type_traits>

#include "kernel/lib/names.h"
#include "kernel/lib/result.h"

namespace exo {

// Page-table entry bits, SDM Vol. 3A §4.5, Tables 4-15 to 4-20.
namespace pte {
constexpr uint64_t kPresent = uint64_t { 1 } << 0;       // P
constexpr uint64_t kWritable = uint64_t { 1 } << 1;      // R/W
constexpr uint64_t kUser = uint64_t { 1 } << 2;          // U/S
constexpr uint64_t kWriteThrough = uint64_t { 1 } << 3;  // PWT
constexpr uint64_t kCacheDisable = uint64_t { 1 } << 4;  // PCD
constexpr uint64_t kAccessed = uint64_t { 1 } << 5;      // A
constexpr uint64_t kDirty = uint64_t { 1 } << 6;         // D (leaf only)
constexpr uint64_t kLargePage = uint64_t { 1 } << 7;     // PS in PDPTE/PDE; reserved in PML4E
constexpr uint64_t kGlobal = uint64_t { 1 } << 8;        // G (leaf only)
constexpr uint64_t kNoExecute = uint64_t { 1 } << 63;    // XD, needs IA32_EFER.NXE
// Bits 51:12 hold the next table or the 4 KiB frame (MAXPHYADDR <= 52).
constexpr uint64_t kAddressMask = 0x000ffffffffff000ull;
constexpr uint64_t kMaxPhys = uint64_t { 1 } << 52;
}  // namespace pte

constexpr size_t kPageTableEntries = 512;  // 9 index bits per level
constexpr int kPagingLevels = 4;           // PML4, PDPT, PD, PT

enum class PageSize : uint8_t {
    Size4K,
    Size2M,  // PDE with PS=1
    Size1G,  // PDPTE with PS=1
};

// 4 KiB << 9 per level up: one shift, not a compare chain.
constexpr uint64_t page_size_bytes(PageSize s)
{
    return uint64_t { 1 } << (12 + 9 * static_cast<unsigned>(s));
}
static_assert(page_size_bytes(PageSize::Size2M) == uint64_t { 1 } << 21
    && page_size_bytes(PageSize::Size1G) == uint64_t { 1 } << 30);

// What a mapping allows. Readable is implied by present. Accessed and Dirty
// are only ever reported (hardware sets them); map() and protect() ignore them.
enum class PageFlags : uint16_t {
    None = 0,
    Writable = 1 << 0,
    User = 1 << 1,
    Executable = 1 << 2,
    Global = 1 << 3,
    WriteThrough = 1 << 4,
    CacheDisable = 1 << 5,
    Accessed = 1 << 6,
    Dirty = 1 << 7,
    // Request only: lets map()/protect() create a writable+executable page.
    AllowWriteExecute = 1 << 8,
};

constexpr PageFlags operator|(PageFlags a, PageFlags b)
{
    return static_cast<PageFlags>(static_cast<uint16_t>(a) | static_cast<uint16_t>(b));
}
constexpr PageFlags operator&(PageFlags a, PageFlags b)
{
    return static_cast<PageFlags>(static_cast<uint16_t>(a) & static_cast<uint16_t>(b));
}
constexpr PageFlags operator~(PageFlags a)
{
    return static_cast<PageFlags>(~static_cast<uint16_t>(a));
}
constexpr bool has(PageFlags set, PageFlags bit) { return (set & bit) != PageFlags::None; }

// "RWXUG" with '-' for an absent right; R is always set for a mapping.
struct FlagsText {
    char text[6];
};
FlagsText flags_text(PageFlags f);

// The physical-memory seam. phys_to_virt must return a pointer to the 4 KiB
// table at `phys` or nullptr when it cannot be reached; alloc_table returns a
// 4 KiB-aligned frame (the editor zeroes it). Only phys_to_virt is needed by
// the read-only walkers; a null free_table leaks emptied tables, a null
// invalidate skips TLB shootdown (tests, inactive address spaces).
struct PhysAccess {
    void* (*phys_to_virt)(void* ctx, uint64_t phys) = nullptr;
    Result<uint64_t> (*alloc_table)(void* ctx) = nullptr;
    void (*free_table)(void* ctx, uint64_t phys) = nullptr;
    void (*invalidate)(void* ctx, uint64_t virt) = nullptr;
    void* ctx = nullptr;
};

// Whether the CPU honours the XD bit (CPUID 80000001h:EDX[20] and EFER.NXE
// set). Without it, bit 63 is reserved and every page is executable.
enum class NoExecute : uint8_t {
    Supported,
    Unsupported,
};

struct Translation {
    uint64_t phys;       // the physical address of `virt` itself (offset included)
    uint64_t page_phys;  // base of the page holding it
    PageSize size;
    PageFlags flags;  // effective across all levels (see effective flags below)
};

enum class WalkStop : uint8_t {
    NotPresent,    // the entry at levels[depth - 1] has P=0
    LargePage,     // a PDPTE or PDE with PS=1 maps the address
    Leaf,          // a PTE maps the address
    Unreadable,    // phys_to_virt gave nullptr for the table at that level
    Reserved,      // PS=1 in a PML4E, which the SDM reserves
    NonCanonical,  // bits 63:47 are not all equal; nothing was read
};

inline const char* walk_stop_name(WalkStop s)
{
    return name_at("not present\0large page\0leaf\0unreadable table\0reserved bit set\0"
                   "non-canonical\0",
        static_cast<size_t>(s));
}

// Level 0 is the PML4E, 3 the PTE; "?" otherwise (a negative level wraps
// past the end). A packed list: no table of pointers.
inline const char* walk_level_name(int level)
{
    static_assert(kPagingLevels == 4);
    return name_at("PML4E\0PDPTE\0PDE\0PTE\0", static_cast<size_t>(level));
}

struct WalkLevel {
    uint64_t table_phys;  // the table read at this level
    uint64_t entry_phys;  // table_phys + index * 8
    uint16_t index;
    uint64_t raw;
    PageFlags flags;  // this entry's own bits, decoded
};

struct WalkResult {
    WalkLevel levels[kPagingLevels];
    int depth;  // levels[0 .. depth) were read
    WalkStop stop;
    Translation translation;  // valid when stop is LargePage or Leaf
};

// One coalesced run: `count` pages of `page_size` at consecutive virtual and
// physical addresses with equal effective flags. `virt` is canonical.
struct MappedRange {
    uint64_t virt;
    uint64_t phys;
    PageSize page_size;
    uint64_t count;
    PageFlags flags;

    uint64_t bytes() const { return count * page_size_bytes(page_size); }
};

// Returns false to stop the enumeration.
using RangeCallback = bool (*)(void* ctx, const MappedRange& range);

struct WxAudit {
    uint64_t ranges;  // coalesced ranges both writable and executable
    uint64_t bytes;
    uint64_t alias_ranges;  // executable ranges whose frames are also mapped writable elsewhere
};

// Effective flags: W only if R/W=1 at every level, U only if U/S=1 at every
// level, X only if no level sets XD; G, PWT, PCD from the leaf.
class PageTable {
public:
    constexpr PageTable() = default;
    PageTable(const PhysAccess& access, uint64_t root_phys, NoExecute nx = NoExecute::Supported)
        : m_access(access)
        , m_root(root_phys & pte::kAddressMask)
        , m_nx(nx)
    {
    }

    // Allocates and zeroes a fresh PML4.
    static Result<PageTable> create(const PhysAccess& access, NoExecute nx = NoExecute::Supported);

    uint64_t root() const { return m_root; }

    // Missing intermediate tables are created as P|RW (plus U/S for a user
    // leaf) so the leaf alone decides access. An existing intermediate that
    // is stricter than the leaf asks for is widened; that never widens other
    // leaves, because every leaf this editor writes carries its own R/W, U/S
    // and XD. Errors: InvalidArgument (misaligned, non-canonical, phys beyond
    // 52 bits, W+X without AllowWriteExecute), Busy (something is already
    // mapped there, at any size), NoMemory, Corrupt (unreadable table).
    Result<void> map(uint64_t virt, uint64_t phys, PageSize size, PageFlags flags);

    // `virt` must be the base of a mapped page of any size. Returns the page's
    // physical base, invalidates `virt`, then frees tables left empty (never
    // the root).
    Result<uint64_t> unmap(uint64_t virt);

    // Rewrites the leaf's rights (A and D are kept); `virt` must be its base.
    Result<void> protect(uint64_t virt, PageFlags flags);

    Result<Translation> translate(uint64_t virt) const;
    WalkResult walk(uint64_t virt) const;

    // Every mapping in ascending canonical order, coalesced. Unreadable
    // tables are skipped; the result is then Corrupt, after the rest ran.
    Result<void> for_each_range(RangeCallback callback, void* ctx) const;

    template<typename F>
    Result<void> for_each_range(F&& f) const
    {
        using Fn = std::remove_reference_t<F>;
        return for_each_range([](void* c, const MappedRange& r) -> bool { return (*static_cast<Fn*>(c))(r); },
                              const_cast<void*>(static_cast<const void*>(&f)));
    }

    Result<WxAudit> audit_wx() const;
    bool has_wx() const;

    // Page-table frames reachable from the root, root included.
    Result<uint64_t> table_count() const;

    static constexpr bool is_canonical(uint64_t virt)
    {
        uint64_t top = virt >> kCanonicalBits;  // bits 63:47
        return top == 0 || top == kCanonicalHighTop;
    }

private:
    static constexpr int kCanonicalBits = 47;
    static constexpr uint64_t kCanonicalHighTop = (uint64_t { 1 } << (64 - kCanonicalBits)) - 1;

    struct Visit;
    WalkResult walk_into(uint64_t virt, uint64_t** slots) const;
    Result<void> walk_to_page(uint64_t virt, uint64_t** slots, WalkResult& w) const;
    uint64_t* table_at(uint64_t phys) const;
    Result<uint64_t> new_table() const;
    void release_table(uint64_t phys) const;
    void invalidate(uint64_t virt) const;
    uint64_t leaf_bits(PageFlags flags) const;
    PageFlags decode(uint64_t raw) const;
    Result<void> check_rights(PageFlags flags) const;
    void visit(Visit& v, uint64_t table_phys, int level, uint64_t virt_base, PageFlags rights) const;

    PhysAccess m_access {};
    uint64_t m_root = 0;
    NoExecute m_nx = NoExecute::Supported;
};

}  // namespace exo
