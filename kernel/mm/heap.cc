// Kernel heap implementation; the design is described in heap.h.
#include "kernel/mm/heap.h"

#include <new>

namespace exo {

namespace {

constexpr size_t kPage = Heap::kPageSize;
constexpr size_t kSlabHeaderBytes = 64;  // Heap::Slab, also the slots' base alignment
constexpr size_t kSlabPayload = kPage - kSlabHeaderBytes;
constexpr size_t kLargeHeaderBytes = 16;  // Heap::Large
constexpr size_t kMapWords = 4;           // free bitmap words: 256 bits >= 4032 / 16 slots
constexpr size_t kWordBits = 64;
constexpr size_t kLargestClass = Heap::kClassSizes[Heap::kClassCount - 1];
// Bigger requests fail up front, so page counts fit the header's 32 bits
// and no size arithmetic below can overflow.
constexpr size_t kMaxRequest = size_t(1) << 40;

// A header's first word is magic ^ page base ^ heap address: a header copied
// elsewhere, another heap's page, or stale user data does not pass.
constexpr uintptr_t kSlabMagic = 0x51AB'C0DE'E7C0'0001;
constexpr uintptr_t kLargeMagic = 0x1A46'C0DE'E7C0'0002;
constexpr uintptr_t kLargeFreeMagic = 0xF4EE'C0DE'E7C0'0003;  // freed run still held as the spare

#ifdef EXO_HEAP_REDZONE
// Each block is [requested bytes][red zone >= 8 bytes of kRedZoneByte][trailer]
// where the trailer holds requested size ^ kTrailerMagic at the slot's end.
constexpr size_t kTrailerBytes = 8;
constexpr size_t kRedZoneMin = 8;
constexpr size_t kOverhead = kRedZoneMin + kTrailerBytes;
constexpr uint8_t kRedZoneByte = 0xFB;
constexpr uint8_t kFreedByte = 0xDF;  // fills freed slots so stale reads stand out
constexpr uint64_t kTrailerMagic = 0x7EA1'0E00'0000'0000;

uint64_t trailer_size(const uint8_t* p, size_t room)
{
    uint64_t t;
    __builtin_memcpy(&t, p + room - kTrailerBytes, sizeof(t));
    return t ^ kTrailerMagic;
}
#else
constexpr size_t kOverhead = 0;
#endif

static_assert(kSlabPayload / Heap::kClassSizes[0] <= kMapWords * kWordBits);
static_assert(kLargestClass + kOverhead < kPage - kLargeHeaderBytes);

// Smallest class holding `need` bytes whose slots are all `align`-aligned
// (slots start at a 64-aligned offset, so align <= 64 divides their base).
// Out of line: alloc, realloc and plan each inlined it.
[[gnu::noinline]] size_t class_for(size_t need, size_t align)
{
    for (size_t c = 0; c < Heap::kClassCount; c++) {
        if (Heap::kClassSizes[c] >= need && Heap::kClassSizes[c] % align == 0)
            return c;
    }
    return Heap::kClassCount;
}

size_t pages_for(size_t offset, size_t size)
{
    return (offset + size + kOverhead + kPage - 1) / kPage;
}

size_t slab_capacity(size_t size_class)
{
    return kSlabPayload / Heap::kClassSizes[size_class];
}

// Bytes the caller may use in a block whose slot extends `room` bytes.
size_t usable_bytes([[maybe_unused]] const void* ptr, size_t room)
{
#ifdef EXO_HEAP_REDZONE
    uint64_t n = trailer_size(static_cast<const uint8_t*>(ptr), room);
    return n <= room - kOverhead ? n : room - kOverhead;
#else
    return room;
#endif
}

void stamp_red_zone([[maybe_unused]] void* ptr, [[maybe_unused]] size_t size,
    [[maybe_unused]] size_t room)
{
#ifdef EXO_HEAP_REDZONE
    auto* p = static_cast<uint8_t*>(ptr);
    __builtin_memset(p + size, kRedZoneByte, room - kTrailerBytes - size);
    uint64_t t = size ^ kTrailerMagic;
    __builtin_memcpy(p + room - kTrailerBytes, &t, sizeof(t));
#endif
}

}  // namespace

struct Heap::Slab {
    uintptr_t tag;
    Slab* next;  // partial list of its class
    Slab* prev;
    uint16_t free_count;
    uint8_t size_class;
    uint8_t reserved[5];
    uint64_t free_map[kMapWords];  // bit set = slot free
};

struct Heap::Large {
    uintptr_t tag;
    uint32_t pages;
    uint32_t offset;  // block start from the run's base
};

// A live block found from a pointer.
struct Heap::Block {
    uintptr_t base;  // page holding the header
    Slab* slab;      // null for a large run
    size_t index;    // slot in the slab
    size_t room;     // bytes from the block start to the end of its slot or run
    size_t charged;  // bytes counted in used_bytes
};

uintptr_t Heap::tag(uintptr_t base, uintptr_t magic) const
{
    // Here because the header types are private to Heap.
    static_assert(sizeof(Slab) == kSlabHeaderBytes);
    static_assert(sizeof(Large) == kLargeHeaderBytes);
    return magic ^ base ^ reinterpret_cast<uintptr_t>(this);
}

void Heap::report(HeapFault kind, uintptr_t address)
{
    m_fault_count++;
    if (m_faults.on_corruption != nullptr)
        m_faults.on_corruption(m_faults.ctx, kind, address);
}

Result<uintptr_t> Heap::take_pages(size_t count)
{
    if (count == 1 && m_spare != 0) {
        uintptr_t page = m_spare;
        m_spare = 0;
        return page;
    }
    auto run = m_source.alloc_pages(m_source.ctx, count);
    if (run)
        m_mapped_pages += count;
    return run;
}

void Heap::give_pages(uintptr_t base, size_t count)
{
    if (count == 1 && m_spare == 0) {
        m_spare = base;
        return;
    }
    m_source.free_pages(m_source.ctx, base, count);
    m_mapped_pages -= count;
}

void Heap::trim()
{
    if (m_spare == 0)
        return;
    m_source.free_pages(m_source.ctx, m_spare, 1);
    m_spare = 0;
    m_mapped_pages--;
}

void Heap::link(Slab* s)
{
    s->prev = nullptr;
    s->next = m_partial[s->size_class];
    if (s->next != nullptr)
        s->next->prev = s;
    m_partial[s->size_class] = s;
}

[[gnu::noinline]] void Heap::unlink(Slab* s)  // out of line: two callers
{
    if (s->prev != nullptr)
        s->prev->next = s->next;
    else
        m_partial[s->size_class] = s->next;
    if (s->next != nullptr)
        s->next->prev = s->prev;
}

void* Heap::alloc(size_t size)
{
    return allocate(size, kAlignment);
}

void* Heap::alloc_aligned(size_t size, size_t align)
{
    if (align == 0 || (align & (align - 1)) != 0 || align > kMaxAlign)
        return nullptr;
    return allocate(size, align < kAlignment ? kAlignment : align);
}

void* Heap::allocate(size_t size, size_t align)
{
    if (size > kMaxRequest)
        return nullptr;
    if (align <= kSlabHeaderBytes) {
        size_t c = class_for(size + kOverhead, align);
        if (c < kClassCount)
            return alloc_small(c, size);
    }
    return alloc_large(size, align);
}

void* Heap::alloc_small(size_t size_class, size_t size)
{
    Slab* s = m_partial[size_class];
    if (s == nullptr) {
        auto page = take_pages(1);
        if (!page)
            return nullptr;
        s = new (reinterpret_cast<void*>(page.value())) Slab {};
        s->tag = tag(page.value(), kSlabMagic);
        size_t cap = slab_capacity(size_class);
        s->free_count = static_cast<uint16_t>(cap);
        s->size_class = static_cast<uint8_t>(size_class);
        for (size_t w = 0; w < kMapWords; w++) {
            size_t bits = cap > w * kWordBits ? cap - w * kWordBits : 0;
            s->free_map[w] = bits >= kWordBits ? ~0ull : (1ull << bits) - 1;
        }
        link(s);
        m_slabs++;
    }
    size_t w = 0;
    while (s->free_map[w] == 0)
        w++;
    size_t bit = static_cast<size_t>(__builtin_ctzll(s->free_map[w]));
    s->free_map[w] &= ~(1ull << bit);
    if (--s->free_count == 0)
        unlink(s);

    size_t slot = kClassSizes[size_class];
    void* ptr = reinterpret_cast<uint8_t*>(s) + kSlabHeaderBytes + (w * kWordBits + bit) * slot;
    stamp_red_zone(ptr, size, slot);
    m_allocs++;
    m_used += slot;
    if (m_used > m_peak)
        m_peak = m_used;
    return ptr;
}

void* Heap::alloc_large(size_t size, size_t align)
{
    size_t offset = align > kLargeHeaderBytes ? align : kLargeHeaderBytes;
    size_t pages = pages_for(offset, size);
    auto run = take_pages(pages);
    if (!run)
        return nullptr;
    auto* h = new (reinterpret_cast<void*>(run.value())) Large {
        tag(run.value(), kLargeMagic), static_cast<uint32_t>(pages), static_cast<uint32_t>(offset)
    };
    void* ptr = reinterpret_cast<uint8_t*>(h) + offset;
    stamp_red_zone(ptr, size, pages * kPage - offset);
    m_large++;
    m_allocs++;
    m_used += pages * kPage;
    if (m_used > m_peak)
        m_peak = m_used;
    return ptr;
}

bool Heap::locate(void* ptr, HeapFault if_free, Block& b)
{
    auto p = reinterpret_cast<uintptr_t>(ptr);
    if (p % kAlignment != 0 || p <= kPage) {
        report(HeapFault::ForeignPointer, p);
        return false;
    }
    // Only a page-aligned large block starts on a page boundary; its header
    // is on the page before.
    b.base = (p % kPage == 0) ? p - kPage : p & ~(kPage - 1);
    uintptr_t magic = *reinterpret_cast<const uintptr_t*>(b.base) ^ tag(b.base, 0);

    if (magic == kSlabMagic) {
        auto* s = reinterpret_cast<Slab*>(b.base);
        if (s->size_class < kClassCount) {
            size_t slot = kClassSizes[s->size_class];
            size_t off = p - b.base - kSlabHeaderBytes;  // wraps for a pointer into the header
            size_t i = off / slot;
            if (off % slot == 0 && i < slab_capacity(s->size_class)) {
                if ((s->free_map[i / kWordBits] >> (i % kWordBits)) & 1) {
                    report(if_free, p);
                    return false;
                }
                b.slab = s;
                b.index = i;
                b.room = b.charged = slot;
                return true;
            }
        }
    } else if (magic == kLargeMagic || magic == kLargeFreeMagic) {
        auto* h = reinterpret_cast<Large*>(b.base);
        if (p == b.base + h->offset) {
            if (magic == kLargeFreeMagic) {
                report(if_free, p);
                return false;
            }
            b.slab = nullptr;
            b.charged = size_t(h->pages) * kPage;
            b.room = b.charged - h->offset;
            return true;
        }
    }
    report(HeapFault::ForeignPointer, p);
    return false;
}

void Heap::check_red_zone([[maybe_unused]] void* ptr, [[maybe_unused]] const Block& b)
{
#ifdef EXO_HEAP_REDZONE
    auto* p = static_cast<uint8_t*>(ptr);
    size_t end = b.room - kTrailerBytes;
    uint64_t n = trailer_size(p, b.room);
    if (n > b.room - kOverhead) {
        report(HeapFault::RedZoneOverflow, reinterpret_cast<uintptr_t>(p + end));
        return;
    }
    for (size_t i = n; i < end; i++) {
        if (p[i] != kRedZoneByte) {
            report(HeapFault::RedZoneOverflow, reinterpret_cast<uintptr_t>(p + i));
            return;
        }
    }
#endif
}

void Heap::release([[maybe_unused]] void* ptr, const Block& b)
{
    m_frees++;
    m_used -= b.charged;
    if (Slab* s = b.slab) {
#ifdef EXO_HEAP_REDZONE
        __builtin_memset(ptr, kFreedByte, b.room);
#endif
        s->free_map[b.index / kWordBits] |= 1ull << (b.index % kWordBits);
        if (s->free_count++ == 0)
            link(s);
        if (s->free_count == slab_capacity(s->size_class)) {
            unlink(s);
            m_slabs--;
            give_pages(b.base, 1);
        }
        return;
    }
    auto* h = reinterpret_cast<Large*>(b.base);
    h->tag = tag(b.base, kLargeFreeMagic);
    m_large--;
    give_pages(b.base, h->pages);
}

void Heap::free(void* ptr)
{
    if (ptr == nullptr)
        return;
    Block b;
    if (!locate(ptr, HeapFault::DoubleFree, b))
        return;
    check_red_zone(ptr, b);
    release(ptr, b);
}

size_t Heap::usable_size(void* ptr)
{
    Block b;
    if (ptr == nullptr || !locate(ptr, HeapFault::UseAfterFree, b))
        return 0;
    return usable_bytes(ptr, b.room);
}

void* Heap::realloc(void* ptr, size_t size)
{
    if (ptr == nullptr)
        return alloc(size);
    if (size == 0) {
        free(ptr);
        return nullptr;
    }
    Block b;
    if (!locate(ptr, HeapFault::UseAfterFree, b) || size > kMaxRequest)
        return nullptr;

    bool keep;
    if (b.slab != nullptr) {
        keep = class_for(size + kOverhead, kAlignment) == b.slab->size_class;
    } else {
        auto* h = reinterpret_cast<Large*>(b.base);
        keep = size + kOverhead > kLargestClass && pages_for(h->offset, size) == h->pages;
    }
    check_red_zone(ptr, b);
    if (keep) {
        stamp_red_zone(ptr, size, b.room);
        return ptr;
    }
    void* moved = alloc(size);
    if (moved == nullptr)
        return nullptr;
    size_t old = usable_bytes(ptr, b.room);
    __builtin_memcpy(moved, ptr, old < size ? old : size);
    release(ptr, b);
    return moved;
}

HeapStats Heap::stats() const
{
    size_t largest = 0;
    for (size_t c = kClassCount; c-- > 0;) {
        if (m_partial[c] != nullptr) {
            largest = kClassSizes[c] - kOverhead;
            break;
        }
    }
    if (m_spare != 0)
        largest = kPage - kLargeHeaderBytes - kOverhead;  // a one-page run beats any slot
    size_t mapped = m_mapped_pages * kPage;
    return HeapStats {
        .mapped_bytes = mapped,
        .used_bytes = m_used,
        .peak_bytes = m_peak,
        .free_bytes = mapped - m_used,
        .allocs = m_allocs,
        .frees = m_frees,
        .largest_free_bytes = largest,
        .slabs = m_slabs,
        .large_runs = m_large,
        .spare_pages = m_spare != 0 ? 1u : 0u,
        .faults = m_fault_count,
    };
}

void Heap::free_slots(size_t (&out)[kClassCount]) const
{
    for (size_t c = 0; c < kClassCount; c++) {
        out[c] = 0;
        for (const Slab* s = m_partial[c]; s; s = s->next)
            out[c] += s->free_count;
    }
}

HeapPlan Heap::plan(size_t size, const size_t (&free)[kClassCount]) const
{
    if (size > kMaxRequest)
        return {};
    size_t c = class_for(size + kOverhead, kAlignment);
    bool spare = m_spare != 0;
    if (c < kClassCount)
        return { kClassSizes[c], free[c], free[c] || spare ? 0u : 1u };
    size_t pages = pages_for(kLargeHeaderBytes, size);
    return { pages * kPage, 0, pages == 1 && spare ? 0u : pages };
}

}  // namespace exo
