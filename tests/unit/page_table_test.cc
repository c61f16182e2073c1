#include "kernel/mm/page_table.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <vector>

namespace exo {
namespace {

constexpr uint64_t k4K = 0x1000;
constexpr uint64_t k2M = 0x200000;
constexpr uint64_t k1G = 0x40000000;
constexpr uint64_t kKernelBase = 0xffffffff80000000ull;

// Simulated physical memory: `pages` 4 KiB frames starting at kSimBase, so a
// bug that treats phys 0 as valid shows up. Tables come from a free list;
// new ones are filled with garbage to prove the editor zeroes them.
struct SimMemory {
    static constexpr uint64_t kSimBase = 0x10000000;
    std::vector<uint64_t> words;
    std::vector<bool> used;
    std::vector<uint64_t> invalidated;
    std::vector<uint64_t> freed;
    int alloc_budget = -1;  // -1: unlimited

    explicit SimMemory(size_t pages = 64) : words(pages * 512), used(pages, false) {}

    size_t in_use() const
    {
        size_t n = 0;
        for (bool u : used)
            n += u;
        return n;
    }

    uint64_t* at(uint64_t phys) { return &words[(phys - kSimBase) / 8]; }

    static void* to_virt(void* ctx, uint64_t phys)
    {
        auto* m = static_cast<SimMemory*>(ctx);
        if (phys < kSimBase || phys - kSimBase >= m->words.size() * 8)
            return nullptr;
        return m->at(phys);
    }
    static Result<uint64_t> alloc(void* ctx)
    {
        auto* m = static_cast<SimMemory*>(ctx);
        if (m->alloc_budget == 0)
            return Error::NoMemory;
        for (size_t i = 0; i < m->used.size(); ++i) {
            if (!m->used[i]) {
                m->used[i] = true;
                if (m->alloc_budget > 0)
                    --m->alloc_budget;
                std::memset(&m->words[i * 512], 0xa5, 4096);
                return kSimBase + i * k4K;
            }
        }
        return Error::NoMemory;
    }
    static void free(void* ctx, uint64_t phys)
    {
        auto* m = static_cast<SimMemory*>(ctx);
        size_t i = (phys - kSimBase) / k4K;
        EXPECT_TRUE(m->used.at(i)) << "freeing a table that was not allocated";
        m->used[i] = false;
        m->freed.push_back(phys);
    }
    static void invalidate(void* ctx, uint64_t virt) { static_cast<SimMemory*>(ctx)->invalidated.push_back(virt); }

    PhysAccess access() { return PhysAccess { to_virt, alloc, free, invalidate, this }; }
};

struct PageTableTest : ::testing::Test {
    SimMemory mem;
    PageTable pt;

    void SetUp() override
    {
        Result<PageTable> r = PageTable::create(mem.access());
        ASSERT_TRUE(r.ok());
        pt = r.value();
    }

    std::vector<MappedRange> ranges()
    {
        std::vector<MappedRange> out;
        EXPECT_TRUE(pt.for_each_range([&out](const MappedRange& r) {
                          out.push_back(r);
                          return true;
                      })
                        .ok());
        return out;
    }

    // Raw entry at `level` for `virt` (the walk must reach that level).
    uint64_t* entry(uint64_t virt, int level)
    {
        WalkResult w = pt.walk(virt);
        EXPECT_GT(w.depth, level);
        return mem.at(w.levels[level].entry_phys);
    }
};

constexpr PageFlags kRW = PageFlags::Writable;
constexpr PageFlags kRX = PageFlags::Executable;
constexpr PageFlags kRO = PageFlags::None;

TEST_F(PageTableTest, CreateGivesZeroedRoot)
{
    EXPECT_EQ(mem.in_use(), 1u);
    EXPECT_EQ(pt.root(), SimMemory::kSimBase);
    for (int i = 0; i < 512; ++i)
        ASSERT_EQ(mem.at(pt.root())[i], 0u);
    EXPECT_EQ(pt.table_count().value(), 1u);
    EXPECT_TRUE(ranges().empty());
    EXPECT_EQ(pt.translate(0).error(), Error::NotMapped);
}

TEST_F(PageTableTest, Map4KTranslateUnmap)
{
    ASSERT_TRUE(pt.map(0x400000, 0x1234000, PageSize::Size4K, kRW).ok());
    EXPECT_EQ(mem.in_use(), 4u);  // root + PDPT + PD + PT
    Translation t = pt.translate(0x400abc).value();
    EXPECT_EQ(t.phys, 0x1234abcu);
    EXPECT_EQ(t.page_phys, 0x1234000u);
    EXPECT_EQ(t.size, PageSize::Size4K);
    EXPECT_EQ(t.flags, PageFlags::Writable);
    EXPECT_EQ(pt.translate(0x401000).error(), Error::NotMapped);
    EXPECT_EQ(pt.translate(0x3ff000).error(), Error::NotMapped);

    uint64_t leaf = *entry(0x400000, 3);
    EXPECT_EQ(leaf, 0x1234000u | pte::kPresent | pte::kWritable | pte::kNoExecute);

    EXPECT_TRUE(mem.invalidated.empty());  // a fresh mapping needs no flush
    EXPECT_EQ(pt.unmap(0x400000).value(), 0x1234000u);
    EXPECT_EQ(mem.invalidated, std::vector<uint64_t> { 0x400000 });
    EXPECT_EQ(pt.translate(0x400000).error(), Error::NotMapped);
    EXPECT_EQ(pt.unmap(0x400000).error(), Error::NotMapped);
    // Every table but the root became empty and was freed.
    EXPECT_EQ(mem.in_use(), 1u);
    EXPECT_EQ(mem.freed.size(), 3u);
    EXPECT_EQ(mem.at(pt.root())[0], 0u);
    EXPECT_EQ(pt.table_count().value(), 1u);
}

TEST_F(PageTableTest, Map2MAnd1G)
{
    ASSERT_TRUE(pt.map(0x40000000 + 2 * k2M, 0x80000000, PageSize::Size2M, kRO).ok());
    ASSERT_TRUE(pt.map(0x8000000000, 0x100000000, PageSize::Size1G, kRW | PageFlags::Global).ok());
    EXPECT_EQ(mem.in_use(), 1u + 2 + 1);  // root, PDPT+PD for the 2M page, PDPT for the 1G page

    Translation a = pt.translate(0x40000000 + 2 * k2M + 0x12345).value();
    EXPECT_EQ(a.size, PageSize::Size2M);
    EXPECT_EQ(a.phys, 0x80012345u);
    EXPECT_EQ(a.flags, PageFlags::None);

    Translation b = pt.translate(0x8000000000 + 0x3fffffff).value();
    EXPECT_EQ(b.size, PageSize::Size1G);
    EXPECT_EQ(b.phys, 0x13fffffffu);
    EXPECT_EQ(b.flags, PageFlags::Writable | PageFlags::Global);

    EXPECT_NE(*entry(0x40000000 + 2 * k2M, 2) & pte::kLargePage, 0u);
    EXPECT_NE(*entry(0x8000000000, 1) & pte::kLargePage, 0u);

    // Only the page base unmaps a large page.
    EXPECT_EQ(pt.unmap(0x40000000 + 2 * k2M + k4K).error(), Error::InvalidArgument);
    EXPECT_EQ(pt.unmap(0x40000000 + 2 * k2M).value(), 0x80000000u);
    EXPECT_EQ(pt.unmap(0x8000000000).value(), 0x100000000u);
    EXPECT_EQ(mem.in_use(), 1u);
    EXPECT_EQ(mem.invalidated, (std::vector<uint64_t> { 0x40000000 + 2 * k2M, 0x8000000000 }));
}

TEST_F(PageTableTest, HigherHalf)
{
    ASSERT_TRUE(pt.map(kKernelBase, 0x100000, PageSize::Size4K, kRX | PageFlags::Global).ok());
    ASSERT_TRUE(pt.map(kKernelBase + k4K, 0x101000, PageSize::Size4K, kRX | PageFlags::Global).ok());
    WalkResult w = pt.walk(kKernelBase + 0x10);
    ASSERT_EQ(w.depth, 4);
    EXPECT_EQ(w.stop, WalkStop::Leaf);
    EXPECT_EQ(w.levels[0].index, 511);
    EXPECT_EQ(w.levels[1].index, 510);
    EXPECT_EQ(w.levels[2].index, 0);
    EXPECT_EQ(w.levels[3].index, 0);
    EXPECT_EQ(w.translation.phys, 0x100010u);

    std::vector<MappedRange> r = ranges();
    ASSERT_EQ(r.size(), 1u);
    EXPECT_EQ(r[0].virt, kKernelBase);  // sign-extended
    EXPECT_EQ(r[0].phys, 0x100000u);
    EXPECT_EQ(r[0].count, 2u);
    EXPECT_EQ(r[0].flags, PageFlags::Executable | PageFlags::Global);
    EXPECT_EQ(r[0].bytes(), 2 * k4K);

    // The top of the lower half and the bottom of the upper half.
    ASSERT_TRUE(pt.map(0x00007ffffffff000, 0x5000, PageSize::Size4K, kRO).ok());
    ASSERT_TRUE(pt.map(0xffff800000000000, 0x6000, PageSize::Size4K, kRO).ok());
    r = ranges();
    ASSERT_EQ(r.size(), 3u);
    EXPECT_EQ(r[0].virt, 0x00007ffffffff000u);
    EXPECT_EQ(r[1].virt, 0xffff800000000000u);
    EXPECT_EQ(r[2].virt, kKernelBase);
}

TEST_F(PageTableTest, RejectsBadAddresses)
{
    EXPECT_EQ(pt.map(0x0000800000000000, 0, PageSize::Size4K, kRO).error(), Error::InvalidArgument);
    EXPECT_EQ(pt.map(0xffff7ffffffff000, 0, PageSize::Size4K, kRO).error(), Error::InvalidArgument);
    EXPECT_EQ(pt.map(0x1000 + 8, 0x2000, PageSize::Size4K, kRO).error(), Error::InvalidArgument);
    EXPECT_EQ(pt.map(0x1000, 0x2000 + 8, PageSize::Size4K, kRO).error(), Error::InvalidArgument);
    EXPECT_EQ(pt.map(k2M + k4K, 0, PageSize::Size2M, kRO).error(), Error::InvalidArgument);
    EXPECT_EQ(pt.map(k2M, k4K, PageSize::Size2M, kRO).error(), Error::InvalidArgument);
    EXPECT_EQ(pt.map(k1G, k2M, PageSize::Size1G, kRO).error(), Error::InvalidArgument);
    EXPECT_EQ(pt.map(k2M, k1G, PageSize::Size1G, kRO).error(), Error::InvalidArgument);
    EXPECT_EQ(pt.map(0x1000, uint64_t { 1 } << 52, PageSize::Size4K, kRO).error(), Error::InvalidArgument);
    EXPECT_EQ(mem.in_use(), 1u);  // nothing was built

    EXPECT_EQ(pt.translate(0x0000800000000000).error(), Error::InvalidArgument);
    EXPECT_EQ(pt.unmap(0x0000800000000000).error(), Error::InvalidArgument);
    EXPECT_EQ(pt.protect(0x0000800000000000, kRO).error(), Error::InvalidArgument);
    WalkResult w = pt.walk(0x1234567800000000);
    EXPECT_EQ(w.stop, WalkStop::NonCanonical);
    EXPECT_EQ(w.depth, 0);
    EXPECT_TRUE(PageTable::is_canonical(0xffff800000000000));
    EXPECT_FALSE(PageTable::is_canonical(0xfffe800000000000));
}

TEST_F(PageTableTest, WriteExecuteNeedsOverride)
{
    EXPECT_EQ(pt.map(0x1000, 0x1000, PageSize::Size4K, kRW | kRX).error(), Error::InvalidArgument);
    EXPECT_EQ(mem.in_use(), 1u);
    EXPECT_FALSE(pt.has_wx());
    ASSERT_TRUE(pt.map(0x1000, 0x1000, PageSize::Size4K, kRW | kRX | PageFlags::AllowWriteExecute).ok());
    ASSERT_TRUE(pt.map(0x2000, 0x2000, PageSize::Size4K, kRW | kRX | PageFlags::AllowWriteExecute).ok());
    ASSERT_TRUE(pt.map(0x3000, 0x3000, PageSize::Size4K, kRW).ok());
    ASSERT_TRUE(pt.map(k2M, 0, PageSize::Size2M, kRW | kRX | PageFlags::AllowWriteExecute).ok());
    EXPECT_TRUE(pt.has_wx());
    WxAudit a = pt.audit_wx().value();
    EXPECT_EQ(a.ranges, 2u);  // 0x1000-0x3000 coalesced, plus the 2M page
    EXPECT_EQ(a.bytes, 2 * k4K + k2M);
    EXPECT_EQ(*entry(0x1000, 3) & pte::kNoExecute, 0u);
    // protect() applies the same rule.
    EXPECT_EQ(pt.protect(0x3000, kRW | kRX).error(), Error::InvalidArgument);
    ASSERT_TRUE(pt.protect(0x1000, kRX).ok());
    ASSERT_TRUE(pt.protect(0x2000, kRW).ok());
    ASSERT_TRUE(pt.protect(k2M, kRO).ok());
    EXPECT_FALSE(pt.has_wx());
    EXPECT_EQ(pt.audit_wx().value().ranges, 0u);
}

// Code is patchable through any writable mapping of its frames (the direct
// map's alias, say), not only a W+X one: the audit counts those too.
TEST_F(PageTableTest, AuditFindsWritableAliasesOfCode)
{
    ASSERT_TRUE(pt.map(0x400000, 0x5000, PageSize::Size4K, kRX).ok());
    ASSERT_TRUE(pt.map(0x600000, 0x9000, PageSize::Size4K, kRW).ok());
    EXPECT_EQ(pt.audit_wx().value().alias_ranges, 0u);
    ASSERT_TRUE(pt.map(0x800000, 0x5000, PageSize::Size4K, kRO).ok());  // a read-only alias is fine
    EXPECT_EQ(pt.audit_wx().value().alias_ranges, 0u);
    ASSERT_TRUE(pt.map(8 * k2M, 0, PageSize::Size2M, kRW).ok());  // covers frame 0x5000, writable
    WxAudit a = pt.audit_wx().value();
    EXPECT_EQ(a.alias_ranges, 1u);
    EXPECT_EQ(a.ranges, 0u);
    ASSERT_TRUE(pt.protect(8 * k2M, kRO).ok());
    EXPECT_EQ(pt.audit_wx().value().alias_ranges, 0u);
}

TEST_F(PageTableTest, RefusesToOverwrite)
{
    ASSERT_TRUE(pt.map(k2M, 0x1000000, PageSize::Size2M, kRW).ok());
    ASSERT_TRUE(pt.map(0x1000, 0x5000, PageSize::Size4K, kRW).ok());
    size_t before = mem.in_use();
    EXPECT_EQ(pt.map(0x1000, 0x6000, PageSize::Size4K, kRW).error(), Error::Busy);      // same page
    EXPECT_EQ(pt.map(k2M + k4K, 0x6000, PageSize::Size4K, kRW).error(), Error::Busy);   // inside a 2M page
    EXPECT_EQ(pt.map(0, 0, PageSize::Size2M, kRW).error(), Error::Busy);                 // over a page table
    EXPECT_EQ(pt.map(0, 0, PageSize::Size1G, kRW).error(), Error::Busy);                 // over a page directory
    EXPECT_EQ(mem.in_use(), before);
    EXPECT_EQ(pt.translate(0x1000).value().phys, 0x5000u);
    // A refused user mapping must not leave its upper entries widened.
    uint64_t pde = *entry(0x1000, 2);
    EXPECT_EQ(pt.map(0x1000, 0x6000, PageSize::Size4K, PageFlags::User).error(), Error::Busy);
    EXPECT_EQ(*entry(0x1000, 2), pde);
}

TEST_F(PageTableTest, IntermediateEntriesArePermissive)
{
    ASSERT_TRUE(pt.map(0x1000, 0x5000, PageSize::Size4K, kRO).ok());
    for (int level = 0; level < 3; ++level) {
        uint64_t e = *entry(0x1000, level);
        EXPECT_EQ(e & ~pte::kAddressMask, pte::kPresent | pte::kWritable) << level;
    }
    ASSERT_TRUE(pt.map(0x40000000, 0x6000, PageSize::Size4K, PageFlags::User).ok());
    EXPECT_NE(*entry(0x40000000, 0) & pte::kUser, 0u);  // widened: shared PML4E
    EXPECT_NE(*entry(0x40000000, 1) & pte::kUser, 0u);
    EXPECT_NE(*entry(0x40000000, 2) & pte::kUser, 0u);
    EXPECT_EQ(mem.invalidated, std::vector<uint64_t> { 0x40000000 });  // the PML4E was widened
    // The kernel page stays kernel-only: its own leaf has U/S clear.
    EXPECT_FALSE(has(pt.translate(0x1000).value().flags, PageFlags::User));
    EXPECT_TRUE(has(pt.translate(0x40000000).value().flags, PageFlags::User));
}

TEST_F(PageTableTest, FailedMapRollsBackNewTables)
{
    mem.alloc_budget = 2;  // a 4K map in an empty space needs 3
    EXPECT_EQ(pt.map(0x1000, 0x5000, PageSize::Size4K, kRW).error(), Error::NoMemory);
    EXPECT_EQ(mem.in_use(), 1u);
    EXPECT_EQ(mem.at(pt.root())[0], 0u);
    mem.alloc_budget = -1;
    ASSERT_TRUE(pt.map(0x1000, 0x5000, PageSize::Size4K, kRW).ok());

    PhysAccess ro = mem.access();
    ro.alloc_table = nullptr;
    PageTable reader(ro, pt.root());
    EXPECT_EQ(reader.map(0x40000000, 0, PageSize::Size4K, kRO).error(), Error::Unsupported);
    EXPECT_EQ(reader.translate(0x1000).value().phys, 0x5000u);  // reading needs only phys_to_virt
}

TEST_F(PageTableTest, UnmapKeepsSharedTablesAndFreesEmptyOnes)
{
    ASSERT_TRUE(pt.map(0x1000, 0x5000, PageSize::Size4K, kRW).ok());
    ASSERT_TRUE(pt.map(0x2000, 0x6000, PageSize::Size4K, kRW).ok());
    ASSERT_TRUE(pt.map(k2M, 0x7000, PageSize::Size4K, kRW).ok());  // second PT, same PD
    EXPECT_EQ(pt.table_count().value(), 5u);
    uint64_t pt1 = pt.walk(0x1000).levels[3].table_phys;
    uint64_t pt2 = pt.walk(k2M).levels[3].table_phys;

    EXPECT_EQ(pt.unmap(0x1000).value(), 0x5000u);
    EXPECT_EQ(pt.table_count().value(), 5u);  // 0x2000 still uses the PT
    EXPECT_TRUE(mem.freed.empty());
    EXPECT_EQ(pt.unmap(0x2000).value(), 0x6000u);
    EXPECT_EQ(mem.freed, std::vector<uint64_t> { pt1 });  // only that PT; the PD is shared
    EXPECT_EQ(pt.table_count().value(), 4u);
    EXPECT_EQ(pt.unmap(k2M).value(), 0x7000u);
    ASSERT_EQ(mem.freed.size(), 4u);  // PT2, PD, PDPT
    EXPECT_EQ(mem.freed[1], pt2);
    EXPECT_EQ(pt.table_count().value(), 1u);
    EXPECT_EQ(mem.invalidated, (std::vector<uint64_t> { 0x1000, 0x2000, k2M }));
}

TEST_F(PageTableTest, EveryRightsCombinationRoundTripsThroughTheLeaf)
{
    const PageFlags bits[] = { PageFlags::Writable, PageFlags::User, PageFlags::Executable, PageFlags::Global,
        PageFlags::WriteThrough, PageFlags::CacheDisable };
    for (unsigned m = 0; m < 64; ++m) {
        PageFlags f = PageFlags::None;
        for (unsigned b = 0; b < 6; ++b)
            if (m & (1u << b))
                f = f | bits[b];
        uint64_t virt = 0x100000 + m * k4K;
        ASSERT_TRUE(pt.map(virt, 0x200000 + m * k4K, PageSize::Size4K, f | PageFlags::AllowWriteExecute).ok()) << m;
        EXPECT_EQ(pt.translate(virt).value().flags, f) << m;
        uint64_t leaf = *entry(virt, 3);
        EXPECT_EQ((leaf & pte::kWritable) != 0, has(f, PageFlags::Writable)) << m;
        EXPECT_EQ((leaf & pte::kUser) != 0, has(f, PageFlags::User)) << m;
        EXPECT_EQ((leaf & pte::kNoExecute) == 0, has(f, PageFlags::Executable)) << m;
        EXPECT_EQ((leaf & pte::kGlobal) != 0, has(f, PageFlags::Global)) << m;
        EXPECT_EQ((leaf & pte::kWriteThrough) != 0, has(f, PageFlags::WriteThrough)) << m;
        EXPECT_EQ((leaf & pte::kCacheDisable) != 0, has(f, PageFlags::CacheDisable)) << m;
        *entry(virt, 3) |= pte::kAccessed | pte::kDirty;
        EXPECT_EQ(pt.walk(virt).levels[3].flags, f | PageFlags::Accessed | PageFlags::Dirty) << m;
    }
}

TEST_F(PageTableTest, ProtectChangesRightsAndKeepsAccessedDirty)
{
    ASSERT_TRUE(pt.map(0x1000, 0x5000, PageSize::Size4K, kRW).ok());
    *entry(0x1000, 3) |= pte::kAccessed | pte::kDirty;
    ASSERT_TRUE(pt.protect(0x1000, kRO | PageFlags::Global).ok());
    EXPECT_EQ(mem.invalidated, std::vector<uint64_t> { 0x1000 });
    Translation t = pt.translate(0x1000).value();
    EXPECT_EQ(t.flags, PageFlags::Global);
    EXPECT_EQ(t.phys, 0x5000u);
    uint64_t leaf = *entry(0x1000, 3);
    EXPECT_EQ(leaf, 0x5000u | pte::kPresent | pte::kAccessed | pte::kDirty | pte::kGlobal | pte::kNoExecute);
    WalkResult w = pt.walk(0x1000);
    EXPECT_TRUE(has(w.levels[3].flags, PageFlags::Accessed));
    EXPECT_TRUE(has(w.levels[3].flags, PageFlags::Dirty));
    EXPECT_FALSE(has(t.flags, PageFlags::Dirty));  // not part of effective rights

    ASSERT_TRUE(pt.map(k2M, 0x400000, PageSize::Size2M, kRO).ok());
    ASSERT_TRUE(pt.protect(k2M, kRX | PageFlags::User).ok());
    EXPECT_EQ(pt.translate(k2M).value().flags, PageFlags::Executable | PageFlags::User);
    EXPECT_NE(*entry(k2M, 2) & pte::kLargePage, 0u);  // still a large page
    EXPECT_EQ(pt.translate(k2M).value().page_phys, 0x400000u);

    EXPECT_EQ(pt.protect(k2M + k4K, kRO).error(), Error::InvalidArgument);
    EXPECT_EQ(pt.protect(0x9000, kRO).error(), Error::NotMapped);
}

TEST_F(PageTableTest, WalkReportsEveryLevel)
{
    ASSERT_TRUE(pt.map(0x7f0000201000, 0x5000, PageSize::Size4K, kRW | PageFlags::User).ok());
    uint64_t v = 0x7f0000201000 + 0x42;
    WalkResult w = pt.walk(v);
    ASSERT_EQ(w.depth, 4);
    EXPECT_EQ(w.stop, WalkStop::Leaf);
    EXPECT_EQ(w.levels[0].table_phys, pt.root());
    EXPECT_EQ(w.levels[0].index, (v >> 39) & 511);
    EXPECT_EQ(w.levels[1].index, (v >> 30) & 511);
    EXPECT_EQ(w.levels[2].index, (v >> 21) & 511);
    EXPECT_EQ(w.levels[3].index, (v >> 12) & 511);
    for (int l = 0; l < 4; ++l) {
        EXPECT_EQ(w.levels[l].entry_phys, w.levels[l].table_phys + w.levels[l].index * 8u) << l;
        EXPECT_EQ(w.levels[l].raw, *mem.at(w.levels[l].entry_phys)) << l;
        EXPECT_TRUE(has(w.levels[l].flags, PageFlags::Writable)) << l;
        EXPECT_TRUE(has(w.levels[l].flags, PageFlags::User)) << l;
        if (l > 0) {
            EXPECT_EQ(w.levels[l].table_phys, w.levels[l - 1].raw & pte::kAddressMask) << l;
        }
    }
    EXPECT_FALSE(has(w.levels[3].flags, PageFlags::Executable));
    EXPECT_TRUE(has(w.levels[2].flags, PageFlags::Executable));  // intermediates never set XD
    EXPECT_EQ(w.translation.phys, 0x5042u);
    EXPECT_EQ(w.translation.flags, PageFlags::Writable | PageFlags::User);

    // Stops at each level when the entry is absent.
    EXPECT_EQ(pt.walk(0x1000).stop, WalkStop::NotPresent);
    EXPECT_EQ(pt.walk(0x1000).depth, 1);
    EXPECT_EQ(pt.walk(0x7f0040000000).depth, 2);  // same PML4E, other PDPTE
    EXPECT_EQ(pt.walk(0x7f0000000000).depth, 3);  // same PDPTE, other PDE
    WalkResult miss = pt.walk(0x7f0000202000);    // same PT, other PTE
    EXPECT_EQ(miss.depth, 4);
    EXPECT_EQ(miss.stop, WalkStop::NotPresent);

    ASSERT_TRUE(pt.map(k1G, 0, PageSize::Size1G, kRO).ok());
    WalkResult big = pt.walk(k1G + 5);
    EXPECT_EQ(big.stop, WalkStop::LargePage);
    EXPECT_EQ(big.depth, 2);
    EXPECT_EQ(big.translation.size, PageSize::Size1G);
    EXPECT_EQ(big.translation.phys, 5u);

    EXPECT_STREQ(walk_level_name(0), "PML4E");
    EXPECT_STREQ(walk_level_name(3), "PTE");
    EXPECT_STREQ(walk_level_name(4), "?");
    EXPECT_STREQ(walk_stop_name(WalkStop::LargePage), "large page");
}

TEST_F(PageTableTest, CoalescesRunsOf4KPages)
{
    // 600 pages crosses a page-table boundary (512 entries) at 0x200000.
    for (uint64_t i = 0; i < 600; ++i)
        ASSERT_TRUE(pt.map(0x100000 + i * k4K, 0x900000 + i * k4K, PageSize::Size4K, kRW).ok());
    std::vector<MappedRange> r = ranges();
    ASSERT_EQ(r.size(), 1u);
    EXPECT_EQ(r[0].virt, 0x100000u);
    EXPECT_EQ(r[0].phys, 0x900000u);
    EXPECT_EQ(r[0].page_size, PageSize::Size4K);
    EXPECT_EQ(r[0].count, 600u);
    EXPECT_EQ(r[0].flags, PageFlags::Writable);
}

TEST_F(PageTableTest, FlagChangeAndDiscontinuitySplit)
{
    for (uint64_t i = 0; i < 8; ++i)
        ASSERT_TRUE(pt.map(0x10000 + i * k4K, 0x50000 + i * k4K, PageSize::Size4K, kRW).ok());
    ASSERT_TRUE(pt.protect(0x10000 + 3 * k4K, kRO).ok());           // flag change at page 3
    ASSERT_TRUE(pt.unmap(0x10000 + 6 * k4K).ok());
    ASSERT_TRUE(pt.map(0x10000 + 6 * k4K, 0x90000, PageSize::Size4K, kRW).ok());  // phys jump at page 6
    // A virtual gap with contiguous phys also splits.
    ASSERT_TRUE(pt.map(0x10000 + 9 * k4K, 0x50000 + 8 * k4K, PageSize::Size4K, kRW).ok());
    std::vector<MappedRange> r = ranges();
    ASSERT_EQ(r.size(), 6u);
    EXPECT_EQ(r[0].count, 3u);
    EXPECT_EQ(r[1].virt, 0x13000u);
    EXPECT_EQ(r[1].count, 1u);
    EXPECT_EQ(r[1].flags, PageFlags::None);
    EXPECT_EQ(r[2].virt, 0x14000u);
    EXPECT_EQ(r[2].count, 2u);
    EXPECT_EQ(r[3].phys, 0x90000u);
    EXPECT_EQ(r[3].count, 1u);
    EXPECT_EQ(r[4].phys, 0x57000u);
    EXPECT_EQ(r[4].count, 1u);
    EXPECT_EQ(r[5].virt, 0x19000u);
}

TEST_F(PageTableTest, DifferentPageSizesDoNotMerge)
{
    ASSERT_TRUE(pt.map(0, 0, PageSize::Size2M, kRW).ok());
    ASSERT_TRUE(pt.map(k2M, k2M, PageSize::Size2M, kRW).ok());
    for (uint64_t i = 0; i < 4; ++i)
        ASSERT_TRUE(pt.map(2 * k2M + i * k4K, 2 * k2M + i * k4K, PageSize::Size4K, kRW).ok());
    std::vector<MappedRange> r = ranges();
    ASSERT_EQ(r.size(), 2u);
    EXPECT_EQ(r[0].page_size, PageSize::Size2M);
    EXPECT_EQ(r[0].count, 2u);
    EXPECT_EQ(r[1].page_size, PageSize::Size4K);
    EXPECT_EQ(r[1].virt, 2 * k2M);
    EXPECT_EQ(r[1].count, 4u);
}

TEST_F(PageTableTest, EffectiveFlagsAcrossLevels)
{
    for (uint64_t i = 0; i < 4; ++i)
        ASSERT_TRUE(pt.map(i * k2M, 0x1000000 + i * k2M, PageSize::Size2M,
                           kRW | kRX | PageFlags::User | PageFlags::AllowWriteExecute)
                        .ok());
    ASSERT_EQ(ranges().size(), 1u);
    // Restrict the upper levels by hand, as foreign tables might.
    *entry(0, 1) &= ~pte::kWritable;  // PDPTE read-only: all four lose W
    std::vector<MappedRange> r = ranges();
    ASSERT_EQ(r.size(), 1u);
    EXPECT_EQ(r[0].flags, PageFlags::Executable | PageFlags::User);
    EXPECT_EQ(pt.translate(k2M).value().flags, PageFlags::Executable | PageFlags::User);
    EXPECT_TRUE(has(pt.walk(k2M).levels[2].flags, PageFlags::Writable));  // the leaf itself still says W

    *entry(0, 0) |= pte::kNoExecute;  // XD in the PML4E
    *entry(0, 0) &= ~pte::kUser;
    r = ranges();
    ASSERT_EQ(r.size(), 1u);
    EXPECT_EQ(r[0].flags, PageFlags::None);
    EXPECT_FALSE(pt.has_wx());

    // G comes from the leaf only: a global leaf splits the run.
    *entry(2 * k2M, 2) |= pte::kGlobal;
    r = ranges();
    ASSERT_EQ(r.size(), 3u);
    EXPECT_EQ(r[1].flags, PageFlags::Global);

    // Mapping a writable executable page through these entries widens them again.
    ASSERT_TRUE(pt.map(4 * k2M, 0x1000000 + 4 * k2M, PageSize::Size2M,
                       kRW | kRX | PageFlags::User | PageFlags::AllowWriteExecute)
                    .ok());
    EXPECT_EQ(pt.translate(4 * k2M).value().flags, kRW | kRX | PageFlags::User);
    ASSERT_FALSE(mem.invalidated.empty());
    EXPECT_EQ(mem.invalidated.back(), 4 * k2M);
}

TEST_F(PageTableTest, UnreadableTablesAreErrorsNotCrashes)
{
    ASSERT_TRUE(pt.map(0x1000, 0x5000, PageSize::Size4K, kRW).ok());
    ASSERT_TRUE(pt.map(k1G, 0x6000, PageSize::Size4K, kRW).ok());
    // Point the PDE for 0x1000 outside simulated memory.
    uint64_t* pde = entry(0x1000, 2);
    *pde = (*pde & ~pte::kAddressMask) | 0x7000000;
    EXPECT_EQ(pt.translate(0x1000).error(), Error::Corrupt);
    WalkResult w = pt.walk(0x1000);
    EXPECT_EQ(w.stop, WalkStop::Unreadable);
    EXPECT_EQ(w.depth, 3);
    EXPECT_EQ(pt.map(0x2000, 0x5000, PageSize::Size4K, kRW).error(), Error::Corrupt);
    EXPECT_EQ(pt.unmap(0x1000).error(), Error::Corrupt);
    EXPECT_EQ(pt.protect(0x1000, kRO).error(), Error::Corrupt);
    std::vector<MappedRange> seen;
    Result<void> res = pt.for_each_range([&seen](const MappedRange& r) {
        seen.push_back(r);
        return true;
    });
    EXPECT_EQ(res.error(), Error::Corrupt);
    ASSERT_EQ(seen.size(), 1u);  // the readable mapping is still reported
    EXPECT_EQ(seen[0].virt, k1G);
    EXPECT_EQ(pt.table_count().error(), Error::Corrupt);

    // PS in a PML4E is reserved.
    mem.at(pt.root())[5] = 0x7000 | pte::kPresent | pte::kLargePage;
    EXPECT_EQ(pt.walk(uint64_t { 5 } << 39).stop, WalkStop::Reserved);
    EXPECT_EQ(pt.translate(uint64_t { 5 } << 39).error(), Error::Corrupt);

    // No phys_to_virt at all.
    PageTable blind(PhysAccess {}, pt.root());
    EXPECT_EQ(blind.translate(0x1000).error(), Error::Corrupt);
    EXPECT_EQ(blind.for_each_range([](const MappedRange&) { return true; }).error(), Error::Corrupt);

    // A table allocator handing out unreachable frames.
    PhysAccess bad = mem.access();
    bad.alloc_table = [](void*) -> Result<uint64_t> { return uint64_t { 0x7000000 }; };
    bad.free_table = [](void*, uint64_t) {};
    EXPECT_EQ(PageTable::create(bad).error(), Error::Corrupt);
}

TEST_F(PageTableTest, LargePagePatBitIsNotAddress)
{
    ASSERT_TRUE(pt.map(k2M, 0x40000000, PageSize::Size2M, kRO).ok());
    *entry(k2M, 2) |= uint64_t { 1 } << 12;  // PAT for a 2 MiB page, SDM Table 4-18
    Translation t = pt.translate(k2M + 0x10).value();
    EXPECT_EQ(t.page_phys, 0x40000000u);
    EXPECT_EQ(t.phys, 0x40000010u);
    EXPECT_EQ(pt.unmap(k2M).value(), 0x40000000u);
}

TEST_F(PageTableTest, EarlyStopAndFlagText)
{
    ASSERT_TRUE(pt.map(0x1000, 0x1000, PageSize::Size4K, kRW).ok());
    ASSERT_TRUE(pt.map(0x3000, 0x3000, PageSize::Size4K, kRW).ok());
    int calls = 0;
    ASSERT_TRUE(pt.for_each_range([&calls](const MappedRange&) {
                      ++calls;
                      return false;
                  })
                    .ok());
    EXPECT_EQ(calls, 1);

    EXPECT_STREQ(flags_text(PageFlags::None).text, "R----");
    EXPECT_STREQ(flags_text(kRW | kRX | PageFlags::User | PageFlags::Global).text, "RWXUG");
    EXPECT_STREQ(flags_text(kRX | PageFlags::Global).text, "R-X-G");
}

TEST(PageTableNoNx, ExecuteBitIsNeverWritten)
{
    SimMemory mem;
    PageTable pt = PageTable::create(mem.access(), NoExecute::Unsupported).value();
    ASSERT_TRUE(pt.map(0x1000, 0x5000, PageSize::Size4K, kRW).ok());
    WalkResult w = pt.walk(0x1000);
    for (int l = 0; l < w.depth; ++l)
        EXPECT_EQ(w.levels[l].raw & pte::kNoExecute, 0u);
    EXPECT_EQ(pt.translate(0x1000).value().flags, kRW | kRX);  // no XD: everything executes
}

}  // namespace
}  // namespace exo
