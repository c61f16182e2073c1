#include "kernel/mm/frame_allocator.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <random>
#include <set>
#include <vector>

namespace exo {
namespace {

constexpr uint64_t kKiB = 1024;
constexpr uint64_t kMiB = 1024 * kKiB;

PhysRangeList list(const std::vector<PhysRange>& v)
{
    return PhysRangeList { v.data(), v.size() };
}

// An allocator plus the host vector that backs its bitmaps.
struct Harness {
    std::vector<uint64_t> storage;
    FrameAllocator fa;

    Result<void> init(const std::vector<PhysRange>& usable, const std::vector<PhysRange>& reserved)
    {
        size_t bytes = FrameAllocator::bitmap_bytes_for(FrameAllocator::highest_usable_end(list(usable)));
        storage.assign(bytes / sizeof(uint64_t) + 1, 0xdeadbeefdeadbeefull);  // dirty on purpose
        return fa.init(list(usable), list(reserved), storage.data(), bytes);
    }
};

std::vector<uint64_t> drain(FrameAllocator& fa)
{
    std::vector<uint64_t> out;
    for (;;) {
        Result<uint64_t> r = fa.alloc();
        if (!r) {
            EXPECT_EQ(r.error(), Error::NoMemory);
            return out;
        }
        out.push_back(r.value());
    }
}

TEST(FrameAllocator, BitmapBytes)
{
    EXPECT_EQ(FrameAllocator::bitmap_bytes_for(0), 0u);
    EXPECT_EQ(FrameAllocator::bitmap_bytes_for(4096), 16u);          // 1 frame: one word per bitmap
    EXPECT_EQ(FrameAllocator::bitmap_bytes_for(64 * 4096), 16u);     // 64 frames still one word
    EXPECT_EQ(FrameAllocator::bitmap_bytes_for(65 * 4096), 32u);
    EXPECT_EQ(FrameAllocator::bitmap_bytes_for(32 * kMiB), 2048u);   // 8192 frames, two bitmaps
    EXPECT_EQ(FrameAllocator::bitmap_bytes_for(4096 + 4095), 16u);   // partial frame ignored
}

TEST(FrameAllocator, HighestUsableEnd)
{
    std::vector<PhysRange> u { { 0x100000, 0x100000 }, { 0x10, 0x20 }, { 0x5000800, 0x1000 } };
    // The last range shrinks to nothing: [0x5001000, 0x5001800) holds no whole frame.
    EXPECT_EQ(FrameAllocator::highest_usable_end(list(u)), 0x200000u);
    // The end saturates at 2^64 - 1 instead of wrapping, so the last whole
    // frame ends one frame below the top.
    std::vector<PhysRange> top { { UINT64_MAX - 0x2fff, 0x5000 } };
    EXPECT_EQ(FrameAllocator::highest_usable_end(list(top)), UINT64_MAX & ~uint64_t { 0xfff });
    std::vector<PhysRange> sliver { { UINT64_MAX - 0x1000, 0x5000 } };
    EXPECT_EQ(FrameAllocator::highest_usable_end(list(sliver)), 0u);
    EXPECT_EQ(FrameAllocator::highest_usable_end(PhysRangeList {}), 0u);
}

TEST(FrameAllocator, SingleRangeAllocatesEveryFrameOnce)
{
    Harness h;
    ASSERT_TRUE(h.init({ { 1 * kMiB, 1 * kMiB } }, {}).ok());
    FrameStats s = h.fa.stats();
    EXPECT_EQ(s.total_frames, 256u);
    EXPECT_EQ(s.free_frames, 256u);
    EXPECT_EQ(s.used_frames, 0u);
    EXPECT_EQ(s.reserved_frames, 0u);

    std::vector<uint64_t> got = drain(h.fa);
    ASSERT_EQ(got.size(), 256u);
    std::set<uint64_t> unique(got.begin(), got.end());
    EXPECT_EQ(unique.size(), 256u);
    EXPECT_EQ(*unique.begin(), 1 * kMiB);
    EXPECT_EQ(*unique.rbegin(), 2 * kMiB - 4096);
    for (uint64_t p : got)
        EXPECT_EQ(p % 4096, 0u);
    s = h.fa.stats();
    EXPECT_EQ(s.free_frames, 0u);
    EXPECT_EQ(s.used_frames, 256u);
    EXPECT_EQ(s.peak_used_frames, 256u);
    EXPECT_EQ(h.fa.alloc().error(), Error::NoMemory);
}

TEST(FrameAllocator, HolesAreNeverHandedOut)
{
    Harness h;
    ASSERT_TRUE(h.init({ { 0x100000, 0x10000 }, { 0x200000, 0x10000 } }, {}).ok());
    EXPECT_EQ(h.fa.stats().total_frames, 32u);
    std::vector<uint64_t> got = drain(h.fa);
    ASSERT_EQ(got.size(), 32u);
    for (uint64_t p : got) {
        bool in_first = p >= 0x100000 && p < 0x110000;
        bool in_second = p >= 0x200000 && p < 0x210000;
        EXPECT_TRUE(in_first || in_second) << std::hex << p;
    }
    EXPECT_EQ(h.fa.free(0x150000).error(), Error::InvalidArgument);  // in the hole
    EXPECT_EQ(h.fa.free(0x0).error(), Error::InvalidArgument);       // below RAM
    EXPECT_EQ(h.fa.free(0x210000).error(), Error::InvalidArgument);  // past the highest range
    EXPECT_EQ(h.fa.free(0x7fff0000).error(), Error::InvalidArgument);
}

TEST(FrameAllocator, UnalignedUsableShrinksReservedGrows)
{
    Harness h;
    // [0x100800, 0x104800) holds whole frames 0x101000..0x103000 only.
    ASSERT_TRUE(h.init({ { 0x100800, 0x4000 } }, { { 0x102ff0, 0x20 } }).ok());
    FrameStats s = h.fa.stats();
    EXPECT_EQ(s.total_frames, 3u);
    // 0x102ff0..0x103010 touches two frames: both withheld.
    EXPECT_EQ(s.reserved_frames, 2u);
    EXPECT_EQ(s.free_frames, 1u);
    EXPECT_TRUE(h.fa.is_free(0x101000));
    EXPECT_FALSE(h.fa.is_free(0x102000));
    EXPECT_FALSE(h.fa.is_free(0x103000));
    EXPECT_FALSE(h.fa.is_free(0x100000));
    EXPECT_EQ(h.fa.alloc().value(), 0x101000u);
    EXPECT_EQ(h.fa.alloc().error(), Error::NoMemory);
    EXPECT_EQ(h.fa.managed_end(), 0x104000u);
}

TEST(FrameAllocator, ReservedOverlapsAndOverlappingUsable)
{
    Harness h;
    ASSERT_TRUE(h.init(
                     {
                         { 0x0, 0xa0000 },          // 160 frames of low memory
                         { 0x100000, 0x100000 },    // 256 frames
                         { 0x180000, 0x100000 },    // overlaps the previous: +128 new frames
                     },
                     {
                         { 0x0, 0x100000 },         // low memory, straddles the VGA hole
                         { 0x1f0000, 0x20000 },     // spans the seam between the usable ranges
                         { 0x10000000, 0x1000 },    // entirely beyond RAM: ignored
                         { 0x150000, 0 },           // empty: ignored
                     })
                    .ok());
    FrameStats s = h.fa.stats();
    EXPECT_EQ(s.total_frames, 160u + 256u + 128u);
    EXPECT_EQ(s.reserved_frames, 160u + 32u);
    EXPECT_EQ(s.free_frames, 256u + 128u - 32u);
    EXPECT_FALSE(h.fa.is_free(0x1f0000));
    EXPECT_FALSE(h.fa.is_free(0x20f000));
    EXPECT_TRUE(h.fa.is_free(0x210000));
    EXPECT_TRUE(h.fa.is_free(0x150000));
    for (uint64_t p : drain(h.fa)) {
        EXPECT_GE(p, 0x100000u);
        EXPECT_TRUE(p < 0x1f0000 || p >= 0x210000) << std::hex << p;
    }
    // Reserved frames are not the allocator's to free.
    EXPECT_EQ(h.fa.free(0x1f0000).error(), Error::InvalidArgument);
    EXPECT_EQ(h.fa.free(0x0).error(), Error::InvalidArgument);
}

TEST(FrameAllocator, FreeAndReallocate)
{
    Harness h;
    ASSERT_TRUE(h.init({ { 0x100000, 0x8000 } }, {}).ok());  // 8 frames
    std::vector<uint64_t> got = drain(h.fa);
    ASSERT_EQ(got.size(), 8u);
    ASSERT_TRUE(h.fa.free(got[3]).ok());
    EXPECT_TRUE(h.fa.is_free(got[3]));
    FrameStats s = h.fa.stats();
    EXPECT_EQ(s.used_frames, 7u);
    EXPECT_EQ(s.free_frames, 1u);
    EXPECT_EQ(s.peak_used_frames, 8u);
    EXPECT_EQ(h.fa.alloc().value(), got[3]);
    EXPECT_FALSE(h.fa.is_free(got[3]));
    for (uint64_t p : got)
        ASSERT_TRUE(h.fa.free(p).ok());
    s = h.fa.stats();
    EXPECT_EQ(s.free_frames, 8u);
    EXPECT_EQ(s.used_frames, 0u);
    EXPECT_EQ(s.peak_used_frames, 8u);  // the high-water mark stays
}

TEST(FrameAllocator, NextFitWrapsAround)
{
    Harness h;
    // Two words' worth of frames so the hint can sit past a freed frame.
    ASSERT_TRUE(h.init({ { 0x100000, 128 * 4096 } }, {}).ok());
    std::vector<uint64_t> got = drain(h.fa);
    ASSERT_EQ(got.size(), 128u);
    ASSERT_TRUE(h.fa.free(got[0]).ok());  // behind the hint, which sits on the last word
    EXPECT_EQ(h.fa.alloc().value(), got[0]);
}

TEST(FrameAllocator, NextFitPrefersFramesPastTheLastAllocation)
{
    Harness h;
    ASSERT_TRUE(h.init({ { 0x100000, 128 * 4096 } }, {}).ok());
    std::vector<uint64_t> got;
    for (int i = 0; i < 100; ++i)
        got.push_back(h.fa.alloc().value());
    ASSERT_TRUE(h.fa.free(got[1]).ok());  // in the first bitmap word
    // The search resumes in the second word, where the last frame came from.
    EXPECT_EQ(h.fa.alloc().value(), got[99] + 4096);
}

TEST(FrameAllocator, BadFrees)
{
    Harness h;
    ASSERT_TRUE(h.init({ { 0x100000, 0x10000 } }, {}).ok());
    uint64_t a = h.fa.alloc().value();
    EXPECT_EQ(h.fa.free(a + 8).error(), Error::InvalidArgument);  // misaligned
    ASSERT_TRUE(h.fa.free(a).ok());
    EXPECT_EQ(h.fa.free(a).error(), Error::Corrupt);  // double free
    EXPECT_EQ(h.fa.stats().free_frames, 16u);         // and it changed nothing
    EXPECT_EQ(h.fa.free(UINT64_MAX & ~uint64_t { 0xfff }).error(), Error::InvalidArgument);
    EXPECT_EQ(h.fa.free_contiguous(a, 0).error(), Error::InvalidArgument);
}

TEST(FrameAllocator, FreeContiguousIsAllOrNothing)
{
    Harness h;
    ASSERT_TRUE(h.init({ { 0x100000, 0x10000 } }, {}).ok());
    uint64_t base = h.fa.alloc_contiguous(4, 1).value();
    ASSERT_TRUE(h.fa.free(base + 2 * 4096).ok());
    FrameStats before = h.fa.stats();
    EXPECT_EQ(h.fa.free_contiguous(base, 4).error(), Error::Corrupt);  // one of them is already free
    FrameStats after = h.fa.stats();
    EXPECT_EQ(after.free_frames, before.free_frames);
    EXPECT_FALSE(h.fa.is_free(base));
    // Running off the end of RAM is not ours either.
    EXPECT_EQ(h.fa.free_contiguous(0x10f000, 2).error(), Error::InvalidArgument);
    ASSERT_TRUE(h.fa.free_contiguous(base, 2).ok());
    ASSERT_TRUE(h.fa.free(base + 3 * 4096).ok());
    EXPECT_EQ(h.fa.stats().free_frames, 16u);
}

TEST(FrameAllocator, ContiguousWithAlignment)
{
    Harness h;
    ASSERT_TRUE(h.init({ { 0x100000, 0x100000 } }, {}).ok());  // frames 0x100..0x1ff
    ASSERT_EQ(h.fa.alloc().value(), 0x100000u);
    // 16-frame (64 KiB) alignment: 0x100000 is taken, so the next aligned start.
    uint64_t a = h.fa.alloc_contiguous(4, 16).value();
    EXPECT_EQ(a, 0x110000u);
    // 2 MiB-aligned run of 1 frame: 0x200000 is past RAM, so none.
    EXPECT_EQ(h.fa.alloc_contiguous(1, 512).error(), Error::NoMemory);
    // Unaligned request fills the gap after the first frame.
    EXPECT_EQ(h.fa.alloc_contiguous(3, 0).value(), 0x101000u);
    for (uint64_t i = 0; i < 4; ++i)
        EXPECT_FALSE(h.fa.is_free(a + i * 4096));
    EXPECT_EQ(h.fa.stats().used_frames, 8u);

    EXPECT_EQ(h.fa.alloc_contiguous(0, 1).error(), Error::InvalidArgument);
    EXPECT_EQ(h.fa.alloc_contiguous(2, 3).error(), Error::InvalidArgument);  // not a power of two
    EXPECT_EQ(h.fa.alloc_contiguous(1000, 1).error(), Error::NoMemory);
    // A huge alignment leaves only frame 0, which is not RAM; must not wrap.
    EXPECT_EQ(h.fa.alloc_contiguous(1, uint64_t { 1 } << 62).error(), Error::NoMemory);
}

TEST(FrameAllocator, ContiguousNeverSpansAHoleOrReserved)
{
    Harness h;
    ASSERT_TRUE(h.init({ { 0x100000, 0x3000 }, { 0x104000, 0x3000 } }, { { 0x105000, 0x1000 } }).ok());
    // Free: 0x100,0x101,0x102 | hole 0x103 | 0x104 | reserved 0x105 | 0x106.
    EXPECT_EQ(h.fa.alloc_contiguous(4, 1).error(), Error::NoMemory);
    EXPECT_EQ(h.fa.alloc_contiguous(2, 2).value(), 0x100000u);
    EXPECT_EQ(h.fa.alloc_contiguous(2, 1).error(), Error::NoMemory);
    EXPECT_EQ(h.fa.alloc_contiguous(1, 1).value(), 0x102000u);
}

TEST(FrameAllocator, InitRejectsBadStorage)
{
    std::vector<PhysRange> u { { 0x100000, 0x100000 } };
    size_t need = FrameAllocator::bitmap_bytes_for(0x200000);
    std::vector<uint64_t> buf(need / 8 + 1);
    FrameAllocator fa;
    EXPECT_EQ(fa.init(list(u), {}, buf.data(), need - 8).error(), Error::InvalidArgument);
    EXPECT_EQ(fa.init(list(u), {}, nullptr, need).error(), Error::InvalidArgument);
    EXPECT_EQ(fa.init(list(u), {}, reinterpret_cast<char*>(buf.data()) + 4, need).error(), Error::InvalidArgument);
    ASSERT_TRUE(fa.init(list(u), {}, buf.data(), need).ok());
}

TEST(FrameAllocator, EmptyMap)
{
    FrameAllocator fa;
    uint64_t word = 0;
    ASSERT_TRUE(fa.init({}, {}, &word, 0).ok());
    EXPECT_EQ(fa.stats().total_frames, 0u);
    EXPECT_EQ(fa.alloc().error(), Error::NoMemory);
    EXPECT_EQ(fa.alloc_contiguous(1, 1).error(), Error::NoMemory);
    EXPECT_EQ(fa.free(0).error(), Error::InvalidArgument);
    EXPECT_FALSE(fa.is_free(0));
    FrameAllocator untouched;  // never initialized: everything fails cleanly
    EXPECT_EQ(untouched.alloc().error(), Error::NoMemory);
    EXPECT_EQ(untouched.free(0x1000).error(), Error::InvalidArgument);
}

TEST(FrameAllocator, PlaceMetadataAvoidsReserved)
{
    std::vector<PhysRange> usable { { 0x0, 0x9fc00 }, { 0x100000, 0x700000 } };
    std::vector<PhysRange> reserved {
        { 0x0, 0x100000 },       // low memory
        { 0x100000, 0x80000 },   // kernel image
        { 0x181000, 0x100 },     // boot info, unaligned
    };
    uint64_t bytes = FrameAllocator::bitmap_bytes_for(FrameAllocator::highest_usable_end(list(usable)));
    ASSERT_EQ(bytes, 512u);
    // [0x180000, 0x181000) is free and big enough for 512 bytes.
    EXPECT_EQ(FrameAllocator::place_metadata(list(usable), list(reserved), bytes).value(), 0x180000u);
    // 0x2000 bytes do not fit before the boot info frame.
    EXPECT_EQ(FrameAllocator::place_metadata(list(usable), list(reserved), 0x2000).value(), 0x182000u);

    // The caller then reserves it and builds the allocator over it.
    uint64_t meta = FrameAllocator::place_metadata(list(usable), list(reserved), bytes).value();
    reserved.push_back({ meta, bytes });
    std::vector<uint64_t> buf(bytes / 8);
    FrameAllocator fa;
    ASSERT_TRUE(fa.init(list(usable), list(reserved), buf.data(), bytes).ok());
    EXPECT_FALSE(fa.is_free(meta));
    EXPECT_TRUE(fa.is_free(meta + 0x2000));
    for (;;) {
        Result<uint64_t> r = fa.alloc();
        if (!r)
            break;
        EXPECT_NE(r.value(), meta);
    }
}

TEST(FrameAllocator, PlaceMetadataPicksLowestFitAndFails)
{
    std::vector<PhysRange> usable { { 0x800000, 0x10000 }, { 0x200000, 0x3000 }, { 0x400000, 0x800 } };
    EXPECT_EQ(FrameAllocator::place_metadata(list(usable), {}, 0x1000).value(), 0x200000u);
    std::vector<PhysRange> sorted { { 0x200000, 0x3000 }, { 0x800000, 0x10000 } };
    EXPECT_EQ(FrameAllocator::place_metadata(list(sorted), {}, 0x1000).value(), 0x200000u);
    EXPECT_EQ(FrameAllocator::place_metadata(list(usable), {}, 0x4000).value(), 0x800000u);
    EXPECT_EQ(FrameAllocator::place_metadata(list(usable), {}, 0x20000).error(), Error::NoMemory);
    EXPECT_EQ(FrameAllocator::place_metadata(list(usable), {}, 0).error(), Error::InvalidArgument);
    EXPECT_EQ(FrameAllocator::place_metadata(list(usable), {}, UINT64_MAX).error(), Error::InvalidArgument);
    std::vector<PhysRange> all { { 0x0, UINT64_MAX } };
    EXPECT_EQ(FrameAllocator::place_metadata(list(usable), list(all), 0x1000).error(), Error::NoMemory);
    EXPECT_EQ(FrameAllocator::place_metadata({}, {}, 0x1000).error(), Error::NoMemory);
}

// Random alloc/free against a std::set model.
TEST(FrameAllocator, RandomizedAgainstModel)
{
    Harness h;
    ASSERT_TRUE(h.init({ { 0x100000, 0x40000 }, { 0x180000, 0x41000 } }, { { 0x190000, 0x5000 } }).ok());
    const uint64_t avail = h.fa.stats().free_frames;
    std::mt19937_64 rng(1234);
    std::set<uint64_t> held;
    uint64_t peak = 0;
    for (int step = 0; step < 20000; ++step) {
        int op = static_cast<int>(rng() % 10);
        if (op < 5) {
            Result<uint64_t> r = h.fa.alloc();
            if (held.size() == avail) {
                ASSERT_EQ(r.error(), Error::NoMemory);
            } else {
                ASSERT_TRUE(r.ok());
                ASSERT_TRUE(held.insert(r.value()).second) << "handed out twice";
                ASSERT_FALSE(r.value() >= 0x190000 && r.value() < 0x195000);
            }
        } else if (op < 7) {
            uint64_t n = 1 + rng() % 8;
            Result<uint64_t> r = h.fa.alloc_contiguous(n, uint64_t { 1 } << (rng() % 4));
            if (r) {
                for (uint64_t i = 0; i < n; ++i)
                    ASSERT_TRUE(held.insert(r.value() + i * 4096).second);
            }
        } else if (!held.empty()) {
            auto it = held.begin();
            std::advance(it, static_cast<long>(rng() % held.size()));
            ASSERT_TRUE(h.fa.free(*it).ok());
            ASSERT_EQ(h.fa.free(*it).error(), Error::Corrupt);
            held.erase(it);
        }
        peak = std::max<uint64_t>(peak, held.size());
        FrameStats s = h.fa.stats();
        ASSERT_EQ(s.used_frames, held.size());
        ASSERT_EQ(s.free_frames, avail - held.size());
        ASSERT_EQ(s.peak_used_frames, peak);
    }
}

// The kernel gives back its boot page tables and guard pages once paging is up.
TEST(FrameAllocator, ReleasedReservedFramesBecomeFreeAndAllocatable)
{
    Harness h;
    ASSERT_TRUE(h.init({ { 0, 1 * kMiB } }, { { 64 * kFrameSize, 8 * kFrameSize } }).ok());
    FrameStats before = h.fa.stats();
    ASSERT_EQ(before.reserved_frames, 8u);
    ASSERT_TRUE(h.fa.release_reserved(66 * kFrameSize, 2).ok());
    FrameStats after = h.fa.stats();
    EXPECT_EQ(after.reserved_frames, 6u);
    EXPECT_EQ(after.free_frames, before.free_frames + 2);
    EXPECT_EQ(after.used_frames, before.used_frames);
    EXPECT_TRUE(h.fa.is_free(66 * kFrameSize));
    EXPECT_TRUE(h.fa.is_free(67 * kFrameSize));
    EXPECT_FALSE(h.fa.is_free(68 * kFrameSize));
    std::vector<uint64_t> all = drain(h.fa);
    EXPECT_NE(std::find(all.begin(), all.end(), 66 * kFrameSize), all.end());
    // Once handed out, the frame frees like any other.
    EXPECT_TRUE(h.fa.free(66 * kFrameSize).ok());
}

TEST(FrameAllocator, ReleaseRefusesManagedFramesAndLeavesStateAlone)
{
    Harness h;
    ASSERT_TRUE(h.init({ { 0, 1 * kMiB } }, { { 64 * kFrameSize, 2 * kFrameSize } }).ok());
    FrameStats before = h.fa.stats();
    // One reserved frame and one managed frame: all or nothing.
    EXPECT_EQ(h.fa.release_reserved(65 * kFrameSize, 2).error(), Error::InvalidArgument);
    EXPECT_EQ(h.fa.release_reserved(10 * kFrameSize, 1).error(), Error::InvalidArgument);
    EXPECT_EQ(h.fa.release_reserved(64 * kFrameSize + 1, 1).error(), Error::InvalidArgument);
    EXPECT_EQ(h.fa.release_reserved(64 * kFrameSize, 0).error(), Error::InvalidArgument);
    EXPECT_EQ(h.fa.release_reserved(64 * kFrameSize, 3).error(), Error::InvalidArgument);  // more than reserved
    EXPECT_EQ(h.fa.release_reserved(1 * kMiB, 1).error(), Error::InvalidArgument);        // beyond RAM
    FrameStats after = h.fa.stats();
    EXPECT_EQ(after.reserved_frames, before.reserved_frames);
    EXPECT_EQ(after.free_frames, before.free_frames);
    EXPECT_FALSE(h.fa.is_free(64 * kFrameSize));
    // Releasing the same frames twice: the second is refused.
    EXPECT_TRUE(h.fa.release_reserved(64 * kFrameSize, 2).ok());
    EXPECT_EQ(h.fa.release_reserved(64 * kFrameSize, 2).error(), Error::InvalidArgument);
}

}  // namespace
}  // namespace exo
