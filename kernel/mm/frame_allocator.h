// Physical frame allocator: one bit per 4 KiB frame over caller-owned storage.
//
// Two bitmaps share the storage: `free` (1 = the frame can be handed out) and
// `owned` (1 = the frame is usable RAM not withheld as reserved). `owned`
// never changes after init; it lets free() tell a double free (Corrupt) from
// an address the allocator never managed (InvalidArgument). Frames at or
// above the end of the highest usable range are not represented at all.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "kernel/lib/result.h"
#include "kernel/mm/phys_range.h"

namespace exo {

constexpr uint64_t kFrameSize = 4096;  // 4 KiB base page, Intel SDM Vol. 3A §4.5
constexpr uint64_t kFrameShift = 12;

struct FrameStats {
    uint64_t total_frames;     // usable RAM after shrinking ranges to whole frames
    uint64_t reserved_frames;  // usable frames withheld by reserved ranges
    uint64_t free_frames;      // available to alloc() right now
    uint64_t used_frames;      // handed out by alloc*(), not yet freed
    uint64_t peak_used_frames; // high-water mark of used_frames
};

class FrameAllocator {
public:
    constexpr FrameAllocator() = default;

    // Bytes of storage init() needs when the highest usable range ends at
    // `highest_address` (exclusive). A multiple of 8; both bitmaps included.
    static constexpr size_t bitmap_bytes_for(uint64_t highest_address)
    {
        uint64_t words = ((highest_address >> kFrameShift) + kBitsPerWord - 1) / kBitsPerWord;
        return static_cast<size_t>(words * sizeof(uint64_t) * 2);
    }

    // End (exclusive, frame-aligned) of the highest usable frame; 0 if none.
    static uint64_t highest_usable_end(PhysRangeList usable);

    // Picks a frame-aligned physical address for `bytes` of metadata inside
    // one usable range, clear of every reserved range. Lowest fit wins. The
    // caller then adds [result, result + bytes) to its reserved list.
    static Result<uint64_t> place_metadata(PhysRangeList usable, PhysRangeList reserved, uint64_t bytes);

    // Usable ranges are shrunk inward to whole frames, reserved ranges grown
    // outward. `storage` must be 8-byte aligned and hold
    // bitmap_bytes_for(highest_usable_end(usable)) bytes; it stays owned by
    // the caller and must outlive the allocator.
    Result<void> init(PhysRangeList usable, PhysRangeList reserved, void* storage, size_t storage_bytes);

    Result<uint64_t> alloc();  // one frame, next-fit
    // `count` frames in a row, first at a multiple of `align_frames` frames
    // (a power of two; 0 means 1). First-fit.
    Result<uint64_t> alloc_contiguous(uint64_t count, uint64_t align_frames);

    Result<void> free(uint64_t phys);
    // All-or-nothing: every frame is checked before any is released.
    Result<void> free_contiguous(uint64_t phys, uint64_t count);

    // Hands frames the caller reserved at init and no longer needs (boot page
    // tables, guard pages) to the allocator, free. The caller vouches that
    // they are usable RAM; a frame the allocator already manages, or more
    // frames than are reserved, is refused (InvalidArgument) and nothing
    // changes.
    Result<void> release_reserved(uint64_t phys, uint64_t count);

    bool is_free(uint64_t phys) const;
    FrameStats stats() const;
    uint64_t managed_end() const { return m_frame_count << kFrameShift; }

private:
    static constexpr uint64_t kBitsPerWord = 64;

    // The first frame of `count` frames at `phys`, if phys is frame aligned
    // and they all lie in the bitmap; InvalidArgument otherwise.
    Result<uint64_t> frame_run(uint64_t phys, uint64_t count) const;
    // Checks that [first, first + count) are all owned and all in use.
    Result<void> check_allocated(uint64_t first, uint64_t count) const;
    // First frame in [first, end) that is not free, or `end`.
    uint64_t first_busy(uint64_t first, uint64_t end) const;
    void take(uint64_t first, uint64_t count);

    uint64_t* m_free = nullptr;
    uint64_t* m_owned = nullptr;
    uint64_t m_frame_count = 0;  // frames represented: [0, m_frame_count)
    uint64_t m_words = 0;
    uint64_t m_hint = 0;  // word index where the next alloc() search starts
    uint64_t m_total = 0;
    uint64_t m_reserved = 0;
    uint64_t m_free_count = 0;
    uint64_t m_peak_used = 0;
};

}  // namespace exo
