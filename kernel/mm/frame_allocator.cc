#include "kernel/mm/frame_allocator.h"

namespace exo {

namespace {

constexpr uint64_t kBitsPerWord = 64;
constexpr uint64_t kAllOnes = ~uint64_t { 0 };

constexpr uint64_t align_down(uint64_t x) { return x & ~(kFrameSize - 1); }

// Rounds up to a multiple of `align` (a power of two), saturating at the
// highest aligned value instead of wrapping to 0. Out of line: seven callers.
[[gnu::noinline]] constexpr uint64_t align_up_sat(uint64_t x, uint64_t align)
{
    uint64_t mask = align - 1;
    if (x > UINT64_MAX - mask)
        return UINT64_MAX & ~mask;
    return (x + mask) & ~mask;
}

// Portable bit count: __builtin_popcountll becomes a libgcc call without
// -mpopcnt, and the kernel does not link libgcc.
constexpr uint64_t popcount64(uint64_t x)
{
    x = x - ((x >> 1) & 0x5555555555555555ull);
    x = (x & 0x3333333333333333ull) + ((x >> 2) & 0x3333333333333333ull);
    x = (x + (x >> 4)) & 0x0f0f0f0f0f0f0f0full;
    return (x * 0x0101010101010101ull) >> 56;
}

// Mask of `n` bits (1..64) starting at bit `shift`. Out of line: three callers.
[[gnu::noinline]] constexpr uint64_t bit_mask(uint64_t shift, uint64_t n)
{
    return (n >= kBitsPerWord ? kAllOnes : ((uint64_t { 1 } << n) - 1)) << shift;
}

// Sets (`value`) or clears the bits [first, end): one loop for both.
void fill_bits(uint64_t* words, uint64_t first, uint64_t end, bool value)
{
    while (first < end) {
        uint64_t bit = first % kBitsPerWord;
        uint64_t n = kBitsPerWord - bit < end - first ? kBitsPerWord - bit : end - first;
        uint64_t mask = bit_mask(bit, n);
        uint64_t& word = words[first / kBitsPerWord];
        word = value ? word | mask : word & ~mask;
        first += n;
    }
}

void set_bits(uint64_t* words, uint64_t first, uint64_t end) { fill_bits(words, first, end, true); }
void clear_bits(uint64_t* words, uint64_t first, uint64_t end) { fill_bits(words, first, end, false); }

// First index in [first, end) whose bit, XORed with `flip`'s bit, is 1:
// flip = 0 finds a set bit, flip = all ones a clear bit. Returns `end` if none.
uint64_t find_first(const uint64_t* words, uint64_t first, uint64_t end, uint64_t flip)
{
    while (first < end) {
        uint64_t bit = first % kBitsPerWord;
        uint64_t n = kBitsPerWord - bit < end - first ? kBitsPerWord - bit : end - first;
        uint64_t hits = (words[first / kBitsPerWord] ^ flip) & bit_mask(bit, n);
        if (hits != 0)
            return first / kBitsPerWord * kBitsPerWord + static_cast<uint64_t>(__builtin_ctzll(hits));
        first += n;
    }
    return end;
}

uint64_t count_bits(const uint64_t* words, uint64_t n_words)
{
    uint64_t total = 0;
    for (uint64_t i = 0; i < n_words; ++i)
        total += popcount64(words[i]);
    return total;
}

}  // namespace

uint64_t FrameAllocator::highest_usable_end(PhysRangeList usable)
{
    uint64_t highest = 0;
    for (const PhysRange& r : usable) {
        uint64_t start = align_up_sat(r.base, kFrameSize);
        uint64_t end = align_down(phys_range_end(r));
        if (start < end && end > highest)
            highest = end;
    }
    return highest;
}

Result<uint64_t> FrameAllocator::place_metadata(PhysRangeList usable, PhysRangeList reserved, uint64_t bytes)
{
    if (bytes == 0 || bytes > UINT64_MAX - kFrameSize)
        return Error::InvalidArgument;
    uint64_t size = align_up_sat(bytes, kFrameSize);
    bool found = false;
    uint64_t best = 0;
    for (const PhysRange& u : usable) {
        uint64_t cand = align_up_sat(u.base, kFrameSize);
        uint64_t end = align_down(phys_range_end(u));
        // Each reserved range can push `cand` past itself at most once, so
        // this loop runs at most reserved.count + 1 times per usable range.
        while (cand < end && end - cand >= size) {
            uint64_t cand_end = cand + size;
            bool clear = true;
            for (const PhysRange& r : reserved) {
                if (r.length == 0)
                    continue;
                uint64_t r_start = align_down(r.base);
                uint64_t r_end = align_up_sat(phys_range_end(r), kFrameSize);
                if (r_start < cand_end && cand < r_end) {
                    cand = r_end;
                    clear = false;
                    break;
                }
            }
            if (clear) {
                if (!found || cand < best)
                    best = cand;
                found = true;
                break;
            }
        }
    }
    if (!found)
        return Error::NoMemory;
    return best;
}

Result<void> FrameAllocator::init(PhysRangeList usable, PhysRangeList reserved, void* storage, size_t storage_bytes)
{
    if (storage == nullptr || reinterpret_cast<uintptr_t>(storage) % alignof(uint64_t) != 0)
        return Error::InvalidArgument;
    uint64_t highest = highest_usable_end(usable);
    size_t need = bitmap_bytes_for(highest);
    if (storage_bytes < need)
        return Error::InvalidArgument;

    *this = FrameAllocator {};
    m_frame_count = highest >> kFrameShift;
    m_words = need / sizeof(uint64_t) / 2;
    m_free = static_cast<uint64_t*>(storage);
    m_owned = m_free + m_words;
    __builtin_memset(storage, 0, need);

    for (const PhysRange& r : usable) {
        uint64_t first = align_up_sat(r.base, kFrameSize) >> kFrameShift;
        uint64_t end = align_down(phys_range_end(r)) >> kFrameShift;
        if (first < end)
            set_bits(m_owned, first, end);
    }
    m_total = count_bits(m_owned, m_words);

    for (const PhysRange& r : reserved) {
        if (r.length == 0)
            continue;
        uint64_t first = align_down(r.base) >> kFrameShift;
        uint64_t end = align_up_sat(phys_range_end(r), kFrameSize) >> kFrameShift;
        if (end > m_frame_count)
            end = m_frame_count;
        if (first < end)
            clear_bits(m_owned, first, end);
    }
    m_free_count = count_bits(m_owned, m_words);
    m_reserved = m_total - m_free_count;
    __builtin_memcpy(m_free, m_owned, m_words * sizeof(uint64_t));
    return {};
}

void FrameAllocator::take(uint64_t first, uint64_t count)
{
    clear_bits(m_free, first, first + count);
    m_free_count -= count;
    uint64_t used = m_total - m_reserved - m_free_count;
    if (used > m_peak_used)
        m_peak_used = used;
}

Result<uint64_t> FrameAllocator::alloc()
{
    if (m_free_count == 0)
        return Error::NoMemory;
    uint64_t w = m_hint < m_words ? m_hint : 0;
    for (uint64_t i = 0; i < m_words; ++i) {
        if (m_free[w] != 0) {
            uint64_t frame = w * kBitsPerWord + static_cast<uint64_t>(__builtin_ctzll(m_free[w]));
            take(frame, 1);
            m_hint = w;
            return frame << kFrameShift;
        }
        if (++w == m_words)
            w = 0;
    }
    // The free count said there was a frame and the bitmap disagrees.
    return Error::Corrupt;
}

Result<uint64_t> FrameAllocator::alloc_contiguous(uint64_t count, uint64_t align_frames)
{
    if (align_frames == 0)
        align_frames = 1;
    if (count == 0 || (align_frames & (align_frames - 1)) != 0)
        return Error::InvalidArgument;
    if (count > m_free_count)
        return Error::NoMemory;
    uint64_t cand = 0;
    while (cand < m_frame_count && m_frame_count - cand >= count) {
        uint64_t end = cand + count;
        uint64_t busy = find_first(m_free, cand, end, kAllOnes);
        if (busy == end) {
            take(cand, count);
            return cand << kFrameShift;
        }
        // Skip the whole used run at word speed, then realign.
        uint64_t next_free = find_first(m_free, busy + 1, m_frame_count, 0);
        cand = align_up_sat(next_free, align_frames);
    }
    return Error::NoMemory;
}

Result<void> FrameAllocator::check_allocated(uint64_t first, uint64_t count) const
{
    uint64_t end = first + count;
    if (find_first(m_owned, first, end, kAllOnes) != end)
        return Error::InvalidArgument;  // a hole, a reserved frame, or beyond RAM
    if (find_first(m_free, first, end, 0) != end)
        return Error::Corrupt;  // already free: double free
    return {};
}

Result<void> FrameAllocator::free(uint64_t phys)
{
    return free_contiguous(phys, 1);
}

Result<uint64_t> FrameAllocator::frame_run(uint64_t phys, uint64_t count) const
{
    if (count == 0 || phys % kFrameSize != 0)
        return Error::InvalidArgument;
    uint64_t first = phys >> kFrameShift;
    if (first >= m_frame_count || count > m_frame_count - first)
        return Error::InvalidArgument;
    return first;
}

Result<void> FrameAllocator::free_contiguous(uint64_t phys, uint64_t count)
{
    uint64_t first = TRY(frame_run(phys, count));
    TRY_VOID(check_allocated(first, count));
    set_bits(m_free, first, first + count);
    m_free_count += count;
    return {};
}

Result<void> FrameAllocator::release_reserved(uint64_t phys, uint64_t count)
{
    if (count > m_reserved)
        return Error::InvalidArgument;
    uint64_t first = TRY(frame_run(phys, count));
    if (find_first(m_owned, first, first + count, 0) != first + count)
        return Error::InvalidArgument;  // some frame is managed already
    set_bits(m_owned, first, first + count);
    set_bits(m_free, first, first + count);
    m_reserved -= count;
    m_free_count += count;
    return {};
}

bool FrameAllocator::is_free(uint64_t phys) const
{
    uint64_t frame = phys >> kFrameShift;
    return frame < m_frame_count && (m_free[frame / kBitsPerWord] >> (frame % kBitsPerWord) & 1) != 0;
}

FrameStats FrameAllocator::stats() const
{
    return FrameStats {
        .total_frames = m_total,
        .reserved_frames = m_reserved,
        .free_frames = m_free_count,
        .used_frames = m_total - m_reserved - m_free_count,
        .peak_used_frames = m_peak_used,
    };
}

}  // namespace exo
