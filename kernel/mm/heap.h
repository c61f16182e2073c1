// Kernel heap: size-class slabs for small objects, page runs for large ones.
// It maps nothing up front; it grows a page run at a time from a PageSource
// and hands empty runs back. Pure code: no globals, no locks (the kernel's
// binding owns the one instance and wraps it in a lock).
//
// Layout (every header sits at a 4 KiB page base, so no header precedes a
// small object and a pointer finds its header by rounding down):
//   slab  = one page: 64-byte header (class, free bitmap) then equal slots.
//           The bitmap is the free list: alloc takes the lowest free slot.
//   large = a page run: 16-byte header (pages, offset) then the block at
//           `offset` (16, or the requested alignment; 4096 puts the block on
//           the run's second page, so a page-aligned pointer's header is the
//           page before it).
//   alloc_aligned up to 64 is served by a class whose slots are all aligned;
//   above 64 by a large run.
// One empty page is kept as a spare when a slab (or one-page run) empties,
// so a class that hovers around zero objects does not thrash the source;
// trim() returns it. While a page is the spare its old header stays intact,
// so a late free into it is still reported as a double free.
//
// Limits: a misaligned or sub-4 KiB pointer is rejected without a read, but
// free() of a pointer into unmapped memory faults like in any allocator (the
// header read comes first). A block whose page went back to the source is
// reported as foreign, not as a double free. Requests over 1 TiB fail.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "kernel/lib/names.h"
#include "kernel/lib/result.h"

namespace exo {

// Where the heap gets memory: `count` contiguous, mapped, 4 KiB-aligned
// pages, as a virtual address. free_pages gets back exactly a run that
// alloc_pages returned (same address, same count).
struct PageSource {
    Result<uintptr_t> (*alloc_pages)(void* ctx, size_t count);
    void (*free_pages)(void* ctx, uintptr_t addr, size_t count);
    void* ctx;
};

enum class HeapFault : uint8_t {
    DoubleFree,       // free() of a block that is already free
    ForeignPointer,   // not a block start this heap handed out
    UseAfterFree,     // realloc()/usable_size() of a block that is free
    RedZoneOverflow,  // bytes past the requested size were written (EXO_HEAP_REDZONE)
};

inline const char* heap_fault_name(HeapFault f)
{
    return name_at("double free\0foreign pointer\0use after free\0red zone overflow\0", static_cast<size_t>(f));
}

// Called on every detected misuse; the operation is then ignored (a red
// zone overflow is reported and the block is still freed). `address` is the
// pointer passed in, or for an overflow the first overwritten byte.
struct HeapFaultHandler {
    void (*on_corruption)(void* ctx, HeapFault kind, uintptr_t address) = nullptr;
    void* ctx = nullptr;
};

// used_bytes counts what live blocks occupy, rounded: the class size of each
// small object and the whole page run (header included) of each large one.
// free_bytes = mapped_bytes - used_bytes, so it includes slab headers.
struct HeapStats {
    size_t mapped_bytes;        // pages obtained from the source and still held
    size_t used_bytes;          // see above
    size_t peak_bytes;          // highest used_bytes so far
    size_t free_bytes;          // mapped_bytes - used_bytes
    size_t allocs;              // successful allocations (a moving realloc counts one)
    size_t frees;               // blocks freed (a moving realloc counts one)
    size_t largest_free_bytes;  // largest request served without asking the source
    size_t slabs;               // slab pages in use (spare excluded)
    size_t large_runs;          // live large allocations
    size_t spare_pages;         // 0 or 1, included in mapped_bytes
    size_t faults;              // misuses reported
};

// What alloc(size) would be served from right now (`mem N`).
struct HeapPlan {
    size_t block_bytes;  // the slot size, or the page run's bytes (0: refused, too big)
    size_t free_slots;   // free slots of that class now (0 for a page run)
    size_t new_pages;    // pages it would take from the source (the spare page is not new)
};

class Heap {
public:
    static constexpr size_t kPageSize = 4096;   // x86_64 base page (SDM Vol. 3A 4.5)
    static constexpr size_t kAlignment = 16;    // every block; SysV x86_64 ABI max_align_t
    static constexpr size_t kMaxAlign = kPageSize;
    static constexpr size_t kClassCount = 13;
    // Slot sizes. From 576 up each fills a slab's 4032-byte payload exactly
    // (7 x 576, 4 x 1008, 3 x 1344, 2 x 2016) instead of wasting a power of two's tail.
    // alignas(2): the element's alignment, not the ABI's 16 for arrays and aggregates (padding).
    alignas(2) static constexpr uint16_t kClassSizes[kClassCount] = {
        16, 32, 48, 64, 96, 128, 192, 256, 384, 576, 1008, 1344, 2016,
    };

    constexpr explicit Heap(PageSource source, HeapFaultHandler faults = {})
        : m_source(source)
        , m_faults(faults)
    {
    }
    Heap(const Heap&) = delete;
    Heap& operator=(const Heap&) = delete;

    // nullptr when the source is exhausted. Size 0 yields a unique valid
    // pointer (a smallest-class slot), like any other size.
    void* alloc(size_t size);
    // `align` a power of two up to kMaxAlign, else nullptr.
    void* alloc_aligned(size_t size, size_t align);
    // nullptr is ignored; misuse is reported and ignored.
    void free(void* ptr);
    // realloc(nullptr, n) == alloc(n); realloc(p, 0) frees p and returns
    // nullptr. Stays in place while the block keeps its class (or page
    // count); a moved block is only 16-byte aligned. On failure p is intact.
    void* realloc(void* ptr, size_t size);
    // Bytes the caller may use: the slot / run tail, or exactly the
    // requested size when built with EXO_HEAP_REDZONE. 0 for nullptr or misuse.
    size_t usable_size(void* ptr);
    // Return the spare page to the source.
    void trim();
    HeapStats stats() const;
    // Free slots per size class, over all of the class's slabs.
    void free_slots(size_t (&out)[kClassCount]) const;
    // `free` as free_slots() gives it.
    HeapPlan plan(size_t size, const size_t (&free)[kClassCount]) const;
    // stats().used_bytes alone, without computing the rest (read per boot task).
    size_t used_bytes() const { return m_used; }

private:
    struct Slab;
    struct Large;
    struct Block;

    void* allocate(size_t size, size_t align);
    void* alloc_small(size_t size_class, size_t size);
    void* alloc_large(size_t size, size_t align);
    bool locate(void* ptr, HeapFault if_free, Block& out);
    void release(void* ptr, const Block& b);
    void check_red_zone(void* ptr, const Block& b);
    void report(HeapFault kind, uintptr_t address);
    uintptr_t tag(uintptr_t base, uintptr_t magic) const;
    Result<uintptr_t> take_pages(size_t count);
    void give_pages(uintptr_t base, size_t count);
    void link(Slab* s);
    void unlink(Slab* s);

    PageSource m_source;
    HeapFaultHandler m_faults;
    uintptr_t m_spare = 0;            // one empty page kept back, 0 if none
    size_t m_mapped_pages = 0;
    size_t m_used = 0;
    size_t m_peak = 0;
    size_t m_allocs = 0;
    size_t m_frees = 0;
    size_t m_slabs = 0;
    size_t m_large = 0;
    size_t m_fault_count = 0;
    // Last, so the counters above take one-byte displacements.
    Slab* m_partial[kClassCount] {};  // slabs with at least one free slot, per class
};

}  // namespace exo
