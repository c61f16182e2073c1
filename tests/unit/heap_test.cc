// Heap tests over a host page source. Build twice: plain and with
// -DEXO_HEAP_REDZONE (red-zone tests skip in the plain build).
#include "kernel/mm/heap.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <map>
#include <random>
#include <vector>

namespace exo {
namespace {

constexpr size_t kPage = Heap::kPageSize;
constexpr size_t kSlabPayload = kPage - 64;  // slab header is 64 bytes
constexpr size_t kLargeHeader = 16;
#ifdef EXO_HEAP_REDZONE
constexpr bool kRedZone = true;
constexpr size_t kOverhead = 16;  // >= 8 red-zone bytes + 8-byte trailer
#else
constexpr bool kRedZone = false;
constexpr size_t kOverhead = 0;
#endif
constexpr size_t kLargestClass = Heap::kClassSizes[Heap::kClassCount - 1];
constexpr uint8_t kSourcePoison = 0xA5;  // what the source leaves in freed runs

// Page source over aligned_alloc. Runs handed back are poisoned and kept
// (reused for the same count) so a stale header read stays inside memory we
// own and ASan stays quiet; it verifies every free matches a live run.
class TestSource {
public:
    ~TestSource()
    {
        for (auto& [count, runs] : m_pool)
            for (uint8_t* r : runs)
                std::free(r);
        for (auto& [addr, count] : m_live)
            std::free(reinterpret_cast<void*>(addr));
    }

    PageSource source() { return { &alloc_pages, &free_pages, this }; }
    size_t held_pages() const { return m_held; }

    size_t limit_pages = SIZE_MAX;  // alloc fails beyond this many held pages
    size_t bad_frees = 0;

private:
    static Result<uintptr_t> alloc_pages(void* ctx, size_t count)
    {
        auto* self = static_cast<TestSource*>(ctx);
        if (count == 0 || self->m_held + count > self->limit_pages)
            return Error::NoMemory;
        uint8_t* run;
        auto& pool = self->m_pool[count];
        if (!pool.empty()) {
            run = pool.back();
            pool.pop_back();
        } else {
            run = static_cast<uint8_t*>(std::aligned_alloc(kPage, count * kPage));
        }
        std::memset(run, 0xCC, count * kPage);  // the heap must not rely on zeroed pages
        self->m_held += count;
        self->m_live[reinterpret_cast<uintptr_t>(run)] = count;
        return reinterpret_cast<uintptr_t>(run);
    }

    static void free_pages(void* ctx, uintptr_t addr, size_t count)
    {
        auto* self = static_cast<TestSource*>(ctx);
        auto it = self->m_live.find(addr);
        if (it == self->m_live.end() || it->second != count) {
            self->bad_frees++;
            ADD_FAILURE() << "free_pages of a run not handed out: " << addr << " x" << count;
            return;
        }
        self->m_live.erase(it);
        self->m_held -= count;
        std::memset(reinterpret_cast<void*>(addr), kSourcePoison, count * kPage);
        self->m_pool[count].push_back(reinterpret_cast<uint8_t*>(addr));
    }

    size_t m_held = 0;
    std::map<uintptr_t, size_t> m_live;
    std::map<size_t, std::vector<uint8_t*>> m_pool;
};

struct Fault {
    HeapFault kind;
    uintptr_t address;
    bool operator==(const Fault&) const = default;
};

struct FaultLog {
    std::vector<Fault> faults;
    HeapFaultHandler handler() { return { &record, this }; }
    static void record(void* ctx, HeapFault kind, uintptr_t address)
    {
        static_cast<FaultLog*>(ctx)->faults.push_back({ kind, address });
    }
};

uintptr_t addr(const void* p) { return reinterpret_cast<uintptr_t>(p); }

// Bytes a request is charged in used_bytes, from the documented layout.
size_t charged_bytes(size_t size, size_t align)
{
    align = align < Heap::kAlignment ? Heap::kAlignment : align;
    if (align <= 64) {
        for (size_t c : Heap::kClassSizes)
            if (c >= size + kOverhead && c % align == 0)
                return c;
    }
    size_t offset = align > kLargeHeader ? align : kLargeHeader;
    return (offset + size + kOverhead + kPage - 1) / kPage * kPage;
}

// Largest request that still lands in class slot `slot`.
size_t request_for_slot(size_t slot) { return slot - kOverhead; }

class HeapTest : public ::testing::Test {
protected:
    void expect_consistent()
    {
        HeapStats s = heap.stats();
        EXPECT_EQ(s.mapped_bytes, src.held_pages() * kPage);
        EXPECT_LE(s.used_bytes, s.mapped_bytes);
        EXPECT_EQ(s.free_bytes, s.mapped_bytes - s.used_bytes);
        EXPECT_GE(s.peak_bytes, s.used_bytes);
        EXPECT_EQ(heap.used_bytes(), s.used_bytes);
    }

    void free_all_and_trim()
    {
        heap.trim();
        HeapStats s = heap.stats();
        EXPECT_EQ(s.mapped_bytes, 0u);
        EXPECT_EQ(s.used_bytes, 0u);
        EXPECT_EQ(s.slabs, 0u);
        EXPECT_EQ(s.large_runs, 0u);
        EXPECT_EQ(s.spare_pages, 0u);
        EXPECT_EQ(src.held_pages(), 0u);
    }

    TestSource src;
    FaultLog log;
    Heap heap { src.source(), log.handler() };
};

TEST_F(HeapTest, FreshHeapHoldsNothing)
{
    HeapStats s = heap.stats();
    EXPECT_EQ(s.mapped_bytes, 0u);
    EXPECT_EQ(s.used_bytes, 0u);
    EXPECT_EQ(s.largest_free_bytes, 0u);
    EXPECT_EQ(s.allocs, 0u);
    EXPECT_EQ(src.held_pages(), 0u);
    heap.free(nullptr);  // no-op, not a fault
    EXPECT_EQ(heap.usable_size(nullptr), 0u);
    EXPECT_TRUE(log.faults.empty());
}

TEST_F(HeapTest, EachClassFillsExactlyOneSlabPerCapacity)
{
    for (size_t slot : Heap::kClassSizes) {
        SCOPED_TRACE(slot);
        size_t req = request_for_slot(slot);
        size_t cap = kSlabPayload / slot;
        std::vector<uint8_t*> ptrs;
        for (size_t i = 0; i < cap; i++) {
            auto* p = static_cast<uint8_t*>(heap.alloc(req));
            ASSERT_NE(p, nullptr);
            EXPECT_EQ(heap.usable_size(p), kRedZone ? req : slot);
            std::memset(p, static_cast<int>(i), req);
            ptrs.push_back(p);
        }
        // All in one page: same page base, distinct slots.
        for (uint8_t* p : ptrs)
            EXPECT_EQ(addr(p) & ~(kPage - 1), addr(ptrs[0]) & ~(kPage - 1));
        HeapStats s = heap.stats();
        EXPECT_EQ(s.mapped_bytes, kPage);
        EXPECT_EQ(s.used_bytes, cap * slot);
        EXPECT_EQ(s.slabs, 1u);
        EXPECT_EQ(s.largest_free_bytes, 0u);  // the slab is full and nothing is spare

        // One more needs a second slab.
        void* extra = heap.alloc(req);
        ASSERT_NE(extra, nullptr);
        EXPECT_EQ(heap.stats().mapped_bytes, 2 * kPage);
        EXPECT_EQ(heap.stats().slabs, 2u);
        EXPECT_EQ(heap.stats().largest_free_bytes, req);
        heap.free(extra);

        for (size_t i = 0; i < cap; i++) {
            for (size_t j = 0; j < req; j++)
                ASSERT_EQ(ptrs[i][j], static_cast<uint8_t>(i));
            heap.free(ptrs[i]);
        }
        s = heap.stats();
        EXPECT_EQ(s.used_bytes, 0u);
        EXPECT_EQ(s.slabs, 0u);
        EXPECT_EQ(s.spare_pages, 1u);  // one empty slab kept, the other returned
        EXPECT_EQ(s.mapped_bytes, kPage);
        expect_consistent();
    }
    EXPECT_TRUE(log.faults.empty());
    free_all_and_trim();
}

TEST_F(HeapTest, SizeClassBoundaries)
{
    // A request one past a class goes to the next class.
    for (size_t c = 0; c + 1 < Heap::kClassCount; c++) {
        size_t req = request_for_slot(Heap::kClassSizes[c]) + 1;
        void* p = heap.alloc(req);
        ASSERT_NE(p, nullptr);
        EXPECT_EQ(heap.stats().used_bytes, Heap::kClassSizes[c + 1]);
        heap.free(p);
    }
    // One past the largest class is a large run.
    void* p = heap.alloc(request_for_slot(kLargestClass) + 1);
    ASSERT_NE(p, nullptr);
    EXPECT_EQ(heap.stats().large_runs, 1u);
    EXPECT_EQ(heap.stats().used_bytes, kPage);
    heap.free(p);
    EXPECT_TRUE(log.faults.empty());
    free_all_and_trim();
}

TEST_F(HeapTest, ZeroSizeGivesUniqueValidPointers)
{
    void* a = heap.alloc(0);
    void* b = heap.alloc(0);
    ASSERT_NE(a, nullptr);
    ASSERT_NE(b, nullptr);
    EXPECT_NE(a, b);
    EXPECT_EQ(heap.stats().used_bytes, 2 * charged_bytes(0, 16));
    EXPECT_EQ(heap.usable_size(a), kRedZone ? 0u : Heap::kClassSizes[0]);
    heap.free(a);
    heap.free(b);
    EXPECT_TRUE(log.faults.empty());
    free_all_and_trim();
}

TEST_F(HeapTest, EveryPointerIsAligned)
{
    std::vector<void*> ptrs;
    for (size_t size = 0; size <= 9000; size += (size < 300 ? 1 : 97)) {
        void* p = heap.alloc(size);
        ASSERT_NE(p, nullptr);
        EXPECT_EQ(addr(p) % Heap::kAlignment, 0u) << size;
        ptrs.push_back(p);
    }
    for (size_t align = 1; align <= Heap::kMaxAlign; align *= 2) {
        for (size_t size : { 0, 1, 15, 16, 17, 63, 64, 100, 500, 2000, 3000, 5000 }) {
            void* p = heap.alloc_aligned(size, align);
            ASSERT_NE(p, nullptr) << size << " @" << align;
            EXPECT_EQ(addr(p) % align, 0u) << size << " @" << align;
            EXPECT_EQ(addr(p) % Heap::kAlignment, 0u);
            EXPECT_GE(heap.usable_size(p), size);
            std::memset(p, 0x5A, size);
            ptrs.push_back(p);
        }
    }
    for (void* p : ptrs)
        heap.free(p);
    EXPECT_TRUE(log.faults.empty());
    free_all_and_trim();
}

TEST_F(HeapTest, AlignedAllocationRejectsBadAlignment)
{
    for (size_t align : { size_t(0), size_t(3), size_t(24), size_t(8192), size_t(1) << 40 })
        EXPECT_EQ(heap.alloc_aligned(64, align), nullptr) << align;
    EXPECT_EQ(heap.stats().allocs, 0u);
    EXPECT_EQ(heap.stats().mapped_bytes, 0u);
}

TEST_F(HeapTest, AlignedSmallUsesAnAlignedClass)
{
    // 48-byte class slots are not all 32-aligned, so the 64 class serves it.
    void* p = heap.alloc_aligned(40, 32);
    ASSERT_NE(p, nullptr);
    EXPECT_EQ(heap.stats().used_bytes, charged_bytes(40, 32));
    EXPECT_EQ(heap.stats().large_runs, 0u);
    // Above 64 a page run is used, with the block at the alignment offset.
    void* q = heap.alloc_aligned(40, 128);
    ASSERT_NE(q, nullptr);
    EXPECT_EQ(addr(q) % kPage, 128u);
    EXPECT_EQ(heap.stats().large_runs, 1u);
    // Page alignment puts the block on the run's second page.
    void* r = heap.alloc_aligned(100, kPage);
    ASSERT_NE(r, nullptr);
    EXPECT_EQ(addr(r) % kPage, 0u);
    EXPECT_EQ(heap.usable_size(r), kRedZone ? 100u : kPage);
    heap.free(r);
    heap.free(q);
    heap.free(p);
    EXPECT_TRUE(log.faults.empty());
    free_all_and_trim();
}

TEST_F(HeapTest, LargeAllocationsAreRunsReturnedOnFree)
{
    size_t size = 5000;
    auto* p = static_cast<uint8_t*>(heap.alloc(size));
    ASSERT_NE(p, nullptr);
    EXPECT_EQ(addr(p) % kPage, kLargeHeader);
    HeapStats s = heap.stats();
    EXPECT_EQ(s.large_runs, 1u);
    EXPECT_EQ(s.mapped_bytes, 2 * kPage);
    EXPECT_EQ(s.used_bytes, 2 * kPage);
    EXPECT_EQ(heap.usable_size(p), kRedZone ? size : 2 * kPage - kLargeHeader);
    std::memset(p, 0x11, heap.usable_size(p));

    // A 1 MiB block.
    auto* big = static_cast<uint8_t*>(heap.alloc(1 << 20));
    ASSERT_NE(big, nullptr);
    std::memset(big, 0x22, 1 << 20);
    EXPECT_EQ(heap.stats().mapped_bytes, 2 * kPage + charged_bytes(1 << 20, 16));
    heap.free(big);
    heap.free(p);
    s = heap.stats();
    EXPECT_EQ(s.large_runs, 0u);
    EXPECT_EQ(s.mapped_bytes, 0u);  // multi-page runs are never kept
    EXPECT_EQ(s.spare_pages, 0u);

    // A one-page run becomes the spare and serves the next slab.
    void* one = heap.alloc(3000);
    heap.free(one);
    EXPECT_EQ(heap.stats().spare_pages, 1u);
    EXPECT_EQ(heap.stats().mapped_bytes, kPage);
    void* small = heap.alloc(10);
    EXPECT_EQ(addr(small) & ~(kPage - 1), addr(one) & ~(kPage - 1));
    EXPECT_EQ(heap.stats().mapped_bytes, kPage);
    EXPECT_EQ(heap.stats().spare_pages, 0u);
    heap.free(small);
    EXPECT_TRUE(log.faults.empty());
    free_all_and_trim();
}

TEST_F(HeapTest, HugeRequestsFailCleanly)
{
    EXPECT_EQ(heap.alloc(SIZE_MAX), nullptr);
    EXPECT_EQ(heap.alloc(SIZE_MAX - kPage), nullptr);
    EXPECT_EQ(heap.alloc_aligned(SIZE_MAX / 2, kPage), nullptr);
    void* p = heap.alloc(8);
    EXPECT_EQ(heap.realloc(p, SIZE_MAX), nullptr);
    EXPECT_EQ(heap.stats().allocs, 1u);
    heap.free(p);
    EXPECT_TRUE(log.faults.empty());
    free_all_and_trim();
}

TEST_F(HeapTest, ReallocAcrossClassesPreservesContents)
{
    auto fill = [](uint8_t* p, size_t n) {
        for (size_t i = 0; i < n; i++)
            p[i] = static_cast<uint8_t>(i * 7 + 3);
    };
    auto check = [](const uint8_t* p, size_t n) {
        for (size_t i = 0; i < n; i++)
            if (p[i] != static_cast<uint8_t>(i * 7 + 3))
                return false;
        return true;
    };
    size_t size = 10;
    auto* p = static_cast<uint8_t*>(heap.alloc(size));
    fill(p, size);
    std::vector<size_t> sizes;
    for (size_t n = 20; n < 70000; n = n * 3 / 2)
        sizes.push_back(n);
    for (size_t i = sizes.size(); i-- > 0;)
        sizes.push_back(sizes[i] / 2 + 1);
    for (size_t n : sizes) {
        SCOPED_TRACE(n);
        auto* q = static_cast<uint8_t*>(heap.realloc(p, n));
        ASSERT_NE(q, nullptr);
        EXPECT_TRUE(check(q, std::min(size, n)));
        EXPECT_GE(heap.usable_size(q), n);
        EXPECT_EQ(heap.stats().used_bytes, charged_bytes(n, 16));
        fill(q, n);
        p = q;
        size = n;
        expect_consistent();
    }
    HeapStats s = heap.stats();
    EXPECT_EQ(s.allocs - s.frees, 1u);
    heap.free(p);
    EXPECT_TRUE(log.faults.empty());
    free_all_and_trim();
}

TEST_F(HeapTest, ReallocInPlaceWithinClassOrPageCount)
{
    void* p = heap.alloc(20);  // 32 class (48 with red zone)
    size_t allocs = heap.stats().allocs;
    EXPECT_EQ(heap.realloc(p, 17), p);
    EXPECT_EQ(heap.realloc(p, request_for_slot(charged_bytes(20, 16))), p);
    EXPECT_EQ(heap.stats().allocs, allocs);
    void* big = heap.alloc(5000);  // two pages
    EXPECT_EQ(heap.realloc(big, 2 * kPage - kLargeHeader - kOverhead), big);
    EXPECT_EQ(heap.realloc(big, 4097), big);
    EXPECT_NE(heap.realloc(big, 3000), big);  // one page now: moved, old run freed
    EXPECT_EQ(heap.stats().large_runs, 1u);
    EXPECT_TRUE(log.faults.empty());
}

TEST_F(HeapTest, ReallocNullAndZero)
{
    void* p = heap.realloc(nullptr, 100);
    ASSERT_NE(p, nullptr);
    EXPECT_EQ(heap.stats().allocs, 1u);
    EXPECT_EQ(heap.realloc(p, 0), nullptr);
    EXPECT_EQ(heap.stats().frees, 1u);
    EXPECT_EQ(heap.stats().used_bytes, 0u);
    EXPECT_TRUE(log.faults.empty());
    free_all_and_trim();
}

TEST_F(HeapTest, StatsAreExactAfterAKnownSequence)
{
    auto* a = heap.alloc(100);   // 128 class
    auto* b = heap.alloc(100);   // same slab
    auto* c = heap.alloc(3000);  // one-page run
    HeapStats s = heap.stats();
    EXPECT_EQ(s.mapped_bytes, 2 * kPage);
    EXPECT_EQ(s.used_bytes, 128 + 128 + kPage);
    EXPECT_EQ(s.free_bytes, 2 * kPage - (256 + kPage));
    EXPECT_EQ(s.peak_bytes, 256 + kPage);
    EXPECT_EQ(s.allocs, 3u);
    EXPECT_EQ(s.frees, 0u);
    EXPECT_EQ(s.slabs, 1u);
    EXPECT_EQ(s.large_runs, 1u);
    EXPECT_EQ(s.largest_free_bytes, 128 - kOverhead);

    heap.free(c);  // becomes the spare
    s = heap.stats();
    EXPECT_EQ(s.mapped_bytes, 2 * kPage);
    EXPECT_EQ(s.used_bytes, 256u);
    EXPECT_EQ(s.spare_pages, 1u);
    EXPECT_EQ(s.large_runs, 0u);
    EXPECT_EQ(s.largest_free_bytes, kPage - kLargeHeader - kOverhead);

    heap.free(a);
    heap.free(b);  // slab empties; the spare slot is taken, so it goes back
    s = heap.stats();
    EXPECT_EQ(s.mapped_bytes, kPage);
    EXPECT_EQ(s.used_bytes, 0u);
    EXPECT_EQ(s.free_bytes, kPage);
    EXPECT_EQ(s.peak_bytes, 256 + kPage);
    EXPECT_EQ(s.allocs, 3u);
    EXPECT_EQ(s.frees, 3u);
    EXPECT_EQ(s.slabs, 0u);
    EXPECT_EQ(s.faults, 0u);
    free_all_and_trim();
    EXPECT_EQ(heap.stats().largest_free_bytes, 0u);
    EXPECT_EQ(heap.stats().peak_bytes, 256 + kPage);
}

TEST_F(HeapTest, ExhaustedSourceReturnsNullAndStaysConsistent)
{
    src.limit_pages = 2;
    EXPECT_EQ(heap.alloc(3 * kPage), nullptr);
    EXPECT_EQ(heap.stats().allocs, 0u);
    EXPECT_EQ(heap.stats().mapped_bytes, 0u);

    size_t req = request_for_slot(kLargestClass);
    std::vector<void*> ptrs;
    for (int i = 0; i < 4; i++) {  // two slots per page, two pages
        void* p = heap.alloc(req);
        ASSERT_NE(p, nullptr);
        ptrs.push_back(p);
    }
    EXPECT_EQ(heap.alloc(req), nullptr);
    EXPECT_EQ(heap.alloc(10), nullptr);  // another class needs a page too
    EXPECT_EQ(heap.alloc(5000), nullptr);
    HeapStats s = heap.stats();
    EXPECT_EQ(s.allocs, 4u);
    EXPECT_EQ(s.mapped_bytes, 2 * kPage);
    EXPECT_EQ(s.used_bytes, 4 * kLargestClass);

    // A failed realloc leaves the block intact.
    std::memset(ptrs[0], 0x77, req);
    EXPECT_EQ(heap.realloc(ptrs[0], 100), nullptr);
    EXPECT_EQ(static_cast<uint8_t*>(ptrs[0])[req - 1], 0x77);
    EXPECT_EQ(heap.usable_size(ptrs[0]), kRedZone ? req : kLargestClass);

    heap.free(ptrs[3]);
    void* again = heap.alloc(req);
    EXPECT_EQ(again, ptrs[3]);
    ptrs[3] = again;
    for (void* p : ptrs)
        heap.free(p);
    expect_consistent();
    EXPECT_TRUE(log.faults.empty());
    free_all_and_trim();
}

TEST_F(HeapTest, DoubleFreeIsReportedAndIgnored)
{
    void* a = heap.alloc(40);
    void* b = heap.alloc(40);
    heap.free(a);
    HeapStats before = heap.stats();
    heap.free(a);
    ASSERT_EQ(log.faults.size(), 1u);
    EXPECT_EQ(log.faults[0], (Fault { HeapFault::DoubleFree, addr(a) }));
    HeapStats after = heap.stats();
    EXPECT_EQ(after.frees, before.frees);
    EXPECT_EQ(after.used_bytes, before.used_bytes);
    EXPECT_EQ(after.faults, 1u);

    // The slab is intact: the slot is handed out once.
    void* c = heap.alloc(40);
    void* d = heap.alloc(40);
    EXPECT_EQ(c, a);
    EXPECT_NE(d, a);

    // usable_size / realloc of a free block.
    heap.free(d);
    EXPECT_EQ(heap.usable_size(d), 0u);
    EXPECT_EQ(heap.realloc(d, 80), nullptr);
    ASSERT_EQ(log.faults.size(), 3u);
    EXPECT_EQ(log.faults[1], (Fault { HeapFault::UseAfterFree, addr(d) }));
    EXPECT_EQ(log.faults[2], (Fault { HeapFault::UseAfterFree, addr(d) }));
    heap.free(b);
    heap.free(c);
    EXPECT_EQ(heap.stats().used_bytes, 0u);
    EXPECT_EQ(log.faults.size(), 3u);
}

TEST_F(HeapTest, DoubleFreeIntoTheSparePage)
{
    void* a = heap.alloc(40);
    heap.free(a);  // its slab is now the spare, header intact
    heap.free(a);
    void* big = heap.alloc(3000);  // spare reused as a one-page run
    EXPECT_EQ(addr(big) & ~(kPage - 1), addr(a) & ~(kPage - 1));
    heap.free(big);
    heap.free(big);
    ASSERT_EQ(log.faults.size(), 2u);
    EXPECT_EQ(log.faults[0], (Fault { HeapFault::DoubleFree, addr(a) }));
    EXPECT_EQ(log.faults[1], (Fault { HeapFault::DoubleFree, addr(big) }));
    EXPECT_EQ(heap.stats().frees, 2u);
    free_all_and_trim();
}

TEST_F(HeapTest, FreeAfterThePageWentBackIsForeign)
{
    void* big = heap.alloc(3 * kPage);  // multi-page run: returned on free
    heap.free(big);
    EXPECT_EQ(heap.stats().mapped_bytes, 0u);
    heap.free(big);  // the source poisoned the page; the tag no longer matches
    ASSERT_EQ(log.faults.size(), 1u);
    EXPECT_EQ(log.faults[0], (Fault { HeapFault::ForeignPointer, addr(big) }));
    EXPECT_EQ(src.bad_frees, 0u);
}

TEST_F(HeapTest, ForeignPointersAreReportedWithTheirAddress)
{
    auto* p = static_cast<uint8_t*>(heap.alloc(64));
    auto* big = static_cast<uint8_t*>(heap.alloc(3 * kPage));
    std::memset(big, 0, 3 * kPage);
    uintptr_t slab = addr(p) & ~(kPage - 1);

    // Memory the heap never handed out: a buffer with a forged copy of a
    // real slab header (the tag binds the header to its own page).
    auto* buf = static_cast<uint8_t*>(std::aligned_alloc(kPage, 3 * kPage));
    std::memset(buf, 0, 3 * kPage);
    std::memcpy(buf + kPage, reinterpret_cast<void*>(slab), kPage);

    Heap other { src.source() };
    void* theirs = other.alloc(64);

    std::vector<uintptr_t> bad = {
        addr(p) + 1,          // misaligned: rejected before any read
        addr(p) + 8,
        addr(p) + 16,         // inside a slot
        slab + 16,            // inside the slab header
        slab + kPage - 16,    // inside the last slot
        addr(big) + 32,       // inside a large block
        addr(big) + kPage,    // on a large run's second page
        addr(buf) + 64,
        addr(buf) + kPage + (addr(p) - slab),  // forged header copy
        addr(buf) + 2 * kPage,                 // page-aligned: header read from the page before
        addr(theirs),         // another heap's block
        16,                   // low addresses are rejected without a read
        kPage,
    };
    HeapStats before = heap.stats();
    for (uintptr_t a : bad)
        heap.free(reinterpret_cast<void*>(a));
    ASSERT_EQ(log.faults.size(), bad.size());
    for (size_t i = 0; i < bad.size(); i++)
        EXPECT_EQ(log.faults[i], (Fault { HeapFault::ForeignPointer, bad[i] })) << i;
    HeapStats after = heap.stats();
    EXPECT_EQ(after.frees, before.frees);
    EXPECT_EQ(after.used_bytes, before.used_bytes);
    EXPECT_EQ(after.faults, bad.size());

    log.faults.clear();
    EXPECT_EQ(heap.usable_size(buf + 64), 0u);
    EXPECT_EQ(heap.realloc(buf + 64, 10), nullptr);
    EXPECT_EQ(log.faults.size(), 2u);

    // Real blocks still work; a heap without a handler survives misuse.
    heap.free(p);
    heap.free(big);
    other.free(theirs);
    other.free(theirs);
    other.free(buf + 64);
    EXPECT_EQ(other.stats().faults, 2u);
    EXPECT_EQ(other.stats().used_bytes, 0u);
    other.trim();
    std::free(buf);
    free_all_and_trim();
}

TEST_F(HeapTest, RedZoneOverflowIsDetected)
{
    if (!kRedZone)
        GTEST_SKIP() << "built without EXO_HEAP_REDZONE";
    // Small block: 20 requested, class 48: red zone [20, 40), trailer [40, 48).
    auto* p = static_cast<uint8_t*>(heap.alloc(20));
    auto* keep = heap.alloc(20);  // keeps the slab alive to look at the freed slot
    EXPECT_EQ(heap.usable_size(p), 20u);
    std::memset(p, 0, 20);  // writing the whole request is fine
    p[20] = 0;
    heap.free(p);
    ASSERT_EQ(log.faults.size(), 1u);
    EXPECT_EQ(log.faults[0], (Fault { HeapFault::RedZoneOverflow, addr(p) + 20 }));
    EXPECT_EQ(heap.stats().frees, 1u);  // the block is still freed
    EXPECT_EQ(p[0], 0xDF);              // freed slots are poisoned

    // Last red-zone byte, then the trailer itself.
    p = static_cast<uint8_t*>(heap.alloc(20));
    p[39] = 1;
    heap.free(p);
    p = static_cast<uint8_t*>(heap.alloc(20));
    p[44] ^= 0xFF;
    heap.free(p);
    ASSERT_EQ(log.faults.size(), 3u);
    EXPECT_EQ(log.faults[1], (Fault { HeapFault::RedZoneOverflow, addr(p) + 39 }));
    EXPECT_EQ(log.faults[2], (Fault { HeapFault::RedZoneOverflow, addr(p) + 40 }));

    // Large block: the red zone runs to the end of the run.
    auto* big = static_cast<uint8_t*>(heap.alloc(5000));
    std::memset(big, 1, 5000);
    big[5100] = 0;
    heap.free(big);
    ASSERT_EQ(log.faults.size(), 4u);
    EXPECT_EQ(log.faults[3], (Fault { HeapFault::RedZoneOverflow, addr(big) + 5100 }));

    // realloc checks too, and re-stamps the zone for the new size.
    p = static_cast<uint8_t*>(heap.alloc(20));
    p[22] = 0;
    auto* q = static_cast<uint8_t*>(heap.realloc(p, 24));
    EXPECT_EQ(q, p);
    ASSERT_EQ(log.faults.size(), 5u);
    EXPECT_EQ(log.faults[4], (Fault { HeapFault::RedZoneOverflow, addr(p) + 22 }));
    std::memset(q, 2, 24);
    heap.free(q);  // clean now
    heap.free(keep);
    EXPECT_EQ(log.faults.size(), 5u);
    EXPECT_EQ(heap.stats().used_bytes, 0u);
    free_all_and_trim();
}

// Randomized model check against a shadow map.
struct Live {
    void* ptr;
    size_t size;
    size_t align;
    uint64_t id;
};

uint8_t pattern(uint64_t id, size_t i)
{
    return static_cast<uint8_t>((id * 0x9E3779B1u) >> 7 ^ i * 31);
}

void fill(const Live& b)
{
    auto* p = static_cast<uint8_t*>(b.ptr);
    for (size_t i = 0; i < b.size; i++)
        p[i] = pattern(b.id, i);
}

bool intact(const Live& b, size_t n)
{
    auto* p = static_cast<const uint8_t*>(b.ptr);
    for (size_t i = 0; i < n; i++)
        if (p[i] != pattern(b.id, i))
            return false;
    return true;
}

void run_model(uint64_t seed, int steps)
{
    SCOPED_TRACE(testing::Message() << "seed " << seed);
    TestSource src;
    FaultLog log;
    Heap heap { src.source(), log.handler() };
    std::mt19937_64 rng(seed);
    auto below = [&](uint64_t n) { return rng() % n; };
    auto draw_size = [&]() -> size_t {
        uint64_t r = below(100);
        if (r < 70)  // small: log-uniform up to the largest class
            return below(size_t(1) << below(12));
        if (r < 95)  // around the slab/run boundary
            return 1500 + below(3000);
        return 4096 + below(40000);  // large
    };

    std::vector<Live> live;
    std::map<uintptr_t, size_t> charged;  // what each live block is charged
    size_t expect_used = 0;
    uint64_t next_id = 1;
    size_t last_peak = 0;

    for (int step = 0; step < steps; step++) {
        uint64_t op = below(100);
        bool want_alloc = live.empty() || (live.size() < 600 ? op < 50 : op < 35);
        if (want_alloc) {
            size_t size = draw_size();
            size_t align = below(10) == 0 ? size_t(1) << below(13) : 0;
            void* p = align ? heap.alloc_aligned(size, align) : heap.alloc(size);
            ASSERT_NE(p, nullptr) << "step " << step;
            ASSERT_EQ(addr(p) % std::max<size_t>(align, Heap::kAlignment), 0u);
            ASSERT_GE(heap.usable_size(p), size);
            Live b { p, size, align, next_id++ };
            fill(b);
            ASSERT_TRUE(charged.emplace(addr(p), charged_bytes(size, align)).second) << "duplicate pointer";
            expect_used += charged_bytes(size, align);
            live.push_back(b);
        } else if (op < 80) {
            size_t i = below(live.size());
            ASSERT_TRUE(intact(live[i], live[i].size)) << "step " << step;
            expect_used -= charged[addr(live[i].ptr)];
            charged.erase(addr(live[i].ptr));
            heap.free(live[i].ptr);
            live[i] = live.back();
            live.pop_back();
        } else {
            size_t i = below(live.size());
            Live& b = live[i];
            size_t size = draw_size();
            void* p = heap.realloc(b.ptr, size);
            size_t old_charge = charged[addr(b.ptr)];
            bool in_place = p == b.ptr;
            expect_used -= old_charge;
            charged.erase(addr(b.ptr));
            if (size == 0) {
                ASSERT_EQ(p, nullptr);
                live[i] = live.back();
                live.pop_back();
            } else {
                ASSERT_NE(p, nullptr);
                ASSERT_EQ(addr(p) % Heap::kAlignment, 0u);
                size_t old = b.size;
                b.ptr = p;
                ASSERT_TRUE(intact(b, std::min(old, size))) << "step " << step;
                b.size = size;
                b.align = 0;
                b.id = next_id++;
                fill(b);
                // In place keeps the old charge; a move is charged as a plain alloc.
                size_t c = in_place ? old_charge : charged_bytes(size, 16);
                ASSERT_TRUE(charged.emplace(addr(p), c).second) << "duplicate pointer";
                expect_used += c;
            }
        }

        HeapStats s = heap.stats();
        ASSERT_LE(s.used_bytes, s.mapped_bytes);
        ASSERT_EQ(s.free_bytes, s.mapped_bytes - s.used_bytes);
        ASSERT_GE(s.peak_bytes, last_peak);
        ASSERT_GE(s.peak_bytes, s.used_bytes);
        ASSERT_EQ(s.allocs - s.frees, live.size());
        ASSERT_EQ(s.mapped_bytes, src.held_pages() * kPage);
        ASSERT_LE(s.spare_pages, 1u);
        ASSERT_EQ(s.faults, 0u);
        ASSERT_EQ(s.used_bytes, expect_used) << "step " << step;
        last_peak = s.peak_bytes;
    }
    for (Live& b : live) {
        ASSERT_TRUE(intact(b, b.size));
        heap.free(b.ptr);
    }
    heap.trim();
    HeapStats s = heap.stats();
    EXPECT_EQ(s.mapped_bytes, 0u);
    EXPECT_EQ(s.used_bytes, 0u);
    EXPECT_EQ(s.allocs, s.frees);
    EXPECT_EQ(src.held_pages(), 0u);
    EXPECT_EQ(src.bad_frees, 0u);
    EXPECT_TRUE(log.faults.empty());
}

TEST(HeapModel, RandomOperationsMatchTheShadowMap)
{
    run_model(0x5EED'E0E0'2024ull, 100000);
    if (const char* env = std::getenv("EXO_HEAP_SEED"))
        run_model(std::strtoull(env, nullptr, 0), 100000);
}

}  // namespace
}  // namespace exo

namespace exo {
namespace {

HeapPlan plan_of(const Heap& heap, size_t size)
{
    size_t free[Heap::kClassCount];
    heap.free_slots(free);
    return heap.plan(size, free);
}

// `mem N`: the plan must match what alloc(N) then does, and free slots are
// counted per class over every slab of it.
TEST(HeapPlan, MatchesWhatAllocThenDoes)
{
    TestSource src;
    Heap heap(src.source());
    size_t free[Heap::kClassCount];
    heap.free_slots(free);
    for (size_t c = 0; c < Heap::kClassCount; c++)
        EXPECT_EQ(free[c], 0u) << c;

    // Nothing mapped: a small request needs one page, a big one its run.
    HeapPlan p = plan_of(heap, 100);
    EXPECT_EQ(p.block_bytes, 128u);  // 100 (+ red zone) fits the 128-byte class
    EXPECT_EQ(p.free_slots, 0u);
    EXPECT_EQ(p.new_pages, 1u);
    size_t held = src.held_pages();
    void* a = heap.alloc(100);
    ASSERT_NE(a, nullptr);
    EXPECT_EQ(src.held_pages(), held + p.new_pages);

    // Now the 128-byte class has a slab with every slot but one free.
    heap.free_slots(free);
    size_t c128 = 5;
    ASSERT_EQ(Heap::kClassSizes[c128], 128);
    EXPECT_EQ(free[c128], kSlabPayload / 128 - 1);
    p = plan_of(heap, 100);
    EXPECT_EQ(p.free_slots, kSlabPayload / 128 - 1);
    EXPECT_EQ(p.new_pages, 0u);
    held = src.held_pages();
    void* b = heap.alloc(100);
    EXPECT_EQ(src.held_pages(), held);

    // A large request: a run of whole pages, header included.
    p = plan_of(heap, 3 * kPage);
    EXPECT_EQ(p.block_bytes, 4 * kPage);
    EXPECT_EQ(p.free_slots, 0u);
    EXPECT_EQ(p.new_pages, 4u);
    held = src.held_pages();
    void* big = heap.alloc(3 * kPage);
    ASSERT_NE(big, nullptr);
    EXPECT_EQ(src.held_pages(), held + 4);

    // Too big: refused, as alloc refuses it.
    EXPECT_EQ(plan_of(heap, size_t(1) << 41).block_bytes, 0u);
    EXPECT_EQ(heap.alloc(size_t(1) << 41), nullptr);

    heap.free(a);
    heap.free(b);
    heap.free(big);
    // The emptied slab became the spare page: a one-page need takes it.
    p = plan_of(heap, 40);
    EXPECT_EQ(p.new_pages, 0u);
}

}  // namespace
}  // namespace exo
