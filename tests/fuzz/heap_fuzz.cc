// The kernel heap against a model of its live blocks: random sequences of
// alloc, alloc_aligned, free, realloc, usable_size and trim, decoded from
// the input, over a page source with a limit (so allocations fail too) and
// with misuse mixed in (freeing stale, interior and misaligned pointers).
// After every step: blocks are aligned as asked, never overlap, hold at
// least what was asked (exactly, with red zones), and keep the bytes
// written into them; a failed allocation means the source refused or the
// request was impossible; misuse is reported once and changes nothing
// else; the statistics add up (used = what the model's blocks are charged
// by heap.h's rules, mapped = what the source handed out, allocs - frees =
// live blocks, slab and large-run counts). At the end, freeing everything
// and trim() return every page and zero the statistics. The page source
// checks each run handed back is one it gave out. Built twice: as is, and
// with EXO_HEAP_REDZONE (then overruns into the red zone must be caught).
// Input: page limit, then operations.
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <map>
#include <set>
#include <vector>

#include "kernel/mm/heap.h"
#include "tests/fuzz/fuzz_check.h"
#include "tests/fuzz/fuzz_input.h"

using namespace exo;
using exo::fuzz::FuzzInput;

namespace {

constexpr size_t kPage = Heap::kPageSize;
constexpr size_t kMaxOps = 400;
#ifdef EXO_HEAP_REDZONE
constexpr size_t kOverhead = 16;  // heap.cc: a red zone of at least 8 bytes, then an 8-byte trailer
#else
constexpr size_t kOverhead = 0;
#endif
constexpr uint8_t kPoison = 0xA5;  // what freed runs are filled with

// Pages from aligned_alloc, never reused within a run (freed runs stay
// allocated and poisoned until the end), so a stale pointer's header read
// stays in memory ASan knows.
struct Source {
    size_t limit = 0;
    size_t held = 0;
    size_t refusals = 0;
    std::map<uintptr_t, size_t> live;
    std::vector<void*> returned;

    ~Source()
    {
        for (auto& [base, count] : live)
            free(reinterpret_cast<void*>(base));
        for (void* p : returned)
            free(p);
    }

    static Result<uintptr_t> alloc_pages(void* ctx, size_t count)
    {
        auto* s = static_cast<Source*>(ctx);
        FUZZ_CHECK(count != 0);
        if (s->held + count > s->limit) {
            ++s->refusals;
            return Error::NoMemory;
        }
        void* run = aligned_alloc(kPage, count * kPage);
        memset(run, 0xCC, count * kPage);  // not zeroed: the heap must not count on it
        s->held += count;
        s->live[reinterpret_cast<uintptr_t>(run)] = count;
        return reinterpret_cast<uintptr_t>(run);
    }

    static void free_pages(void* ctx, uintptr_t base, size_t count)
    {
        auto* s = static_cast<Source*>(ctx);
        auto it = s->live.find(base);
        FUZZ_CHECK(it != s->live.end() && it->second == count);
        s->live.erase(it);
        s->held -= count;
        memset(reinterpret_cast<void*>(base), kPoison, count * kPage);
        s->returned.push_back(reinterpret_cast<void*>(base));
    }
};

struct Faults {
    size_t count = 0;
    HeapFault last {};
    static void record(void* ctx, HeapFault kind, uintptr_t)
    {
        auto* f = static_cast<Faults*>(ctx);
        ++f->count;
        f->last = kind;
    }
};

struct Block {
    size_t size;
    size_t align;     // as asked (a moved realloc: 16)
    size_t charged;   // bytes in used_bytes
    bool large;
    uint8_t fill;
};

// heap.h: a small object is charged its class, a large one its whole run.
size_t charge(size_t size, size_t align, bool& large)
{
    align = align < Heap::kAlignment ? Heap::kAlignment : align;
    if (align <= 64) {
        for (uint16_t c : Heap::kClassSizes) {
            if (c >= size + kOverhead && c % align == 0) {
                large = false;
                return c;
            }
        }
    }
    large = true;
    size_t offset = align > 16 ? align : 16;
    return (offset + size + kOverhead + kPage - 1) / kPage * kPage;
}

struct Model {
    Heap& heap;
    Source& source;
    Faults& faults;
    std::map<uintptr_t, Block> live;
    std::vector<uintptr_t> stale;  // pointers freed once
    size_t allocs = 0, frees = 0, faults_seen = 0, peak = 0;
    uint8_t next_fill = 1;

    size_t usable(uintptr_t p) { return heap.usable_size(reinterpret_cast<void*>(p)); }

    void fill(uintptr_t p, Block& b)
    {
        b.fill = next_fill++;
        memset(reinterpret_cast<void*>(p), b.fill, b.size);
    }

    void check_contents(uintptr_t p, const Block& b, size_t n)
    {
        const uint8_t* bytes = reinterpret_cast<const uint8_t*>(p);
        for (size_t i = 0; i < n; ++i)
            FUZZ_CHECK(bytes[i] == b.fill);
    }

    // A new block from the heap: aligned, big enough, clear of every other.
    void added(void* ptr, size_t size, size_t align, bool counts = true)
    {
        uintptr_t p = reinterpret_cast<uintptr_t>(ptr);
        size_t want = align < Heap::kAlignment ? Heap::kAlignment : align;
        FUZZ_CHECK(p % want == 0);
        size_t room = usable(p);
        FUZZ_CHECK(kOverhead != 0 ? room == size : room >= size);
        auto next = live.lower_bound(p);
        if (next != live.end())
            FUZZ_CHECK(p + (room ? room : 1) <= next->first);
        if (next != live.begin()) {
            auto prev = std::prev(next);
            FUZZ_CHECK(prev->first + (prev->second.size ? usable(prev->first) : 1) <= p);
        }
        Block b { size, align, 0, false, 0 };
        b.charged = charge(size, align, b.large);
        fill(p, b);
        live[p] = b;
        allocs += counts;
    }

    size_t used() const
    {
        size_t total = 0;
        for (auto& [p, b] : live)
            total += b.charged;
        return total;
    }

    // What used_bytes reached with `extra` more bytes charged.
    void note_peak(size_t extra) { peak = used() + extra > peak ? used() + extra : peak; }

    void check_stats()
    {
        HeapStats s = heap.stats();
        size_t used = this->used(), large = 0;
        std::set<uintptr_t> slabs;
        for (auto& [p, b] : live) {
            large += b.large;
            if (!b.large)
                slabs.insert(p & ~(kPage - 1));
        }
        FUZZ_CHECK(s.used_bytes == used && heap.used_bytes() == used);
        FUZZ_CHECK(s.mapped_bytes == source.held * kPage && s.free_bytes == s.mapped_bytes - s.used_bytes);
        FUZZ_CHECK(s.allocs == allocs && s.frees == frees && allocs - frees == live.size());
        FUZZ_CHECK(s.large_runs == large && s.slabs == slabs.size() && s.spare_pages <= 1);
        size_t large_pages = 0;
        for (auto& [p, b] : live)
            large_pages += b.large ? b.charged / kPage : 0;
        FUZZ_CHECK(s.mapped_bytes == (slabs.size() + s.spare_pages + large_pages) * kPage);
        peak = used > peak ? used : peak;
        FUZZ_CHECK(s.peak_bytes == peak);
        FUZZ_CHECK(s.faults == faults_seen && faults.count == faults_seen);
    }

    void freed(uintptr_t p)
    {
        live.erase(p);
        stale.push_back(p);
        ++frees;
    }

    // Misuse: reported once, nothing else changes.
    void misuse(uintptr_t p, int how)
    {
        HeapStats before = heap.stats();
        void* ptr = reinterpret_cast<void*>(p);
        if (how == 0)
            heap.free(ptr);
        else if (how == 1)
            FUZZ_CHECK(heap.usable_size(ptr) == 0);
        else
            FUZZ_CHECK(heap.realloc(ptr, 24) == nullptr);
        ++faults_seen;
        FUZZ_CHECK(faults.count == faults_seen);
        HeapStats after = heap.stats();
        FUZZ_CHECK(after.used_bytes == before.used_bytes && after.mapped_bytes == before.mapped_bytes);
        FUZZ_CHECK(after.allocs == before.allocs && after.frees == before.frees);
    }
};

size_t pick_size(FuzzInput& in)
{
    switch (in.byte() % 8) {
    case 0: return in.byte() % 17;
    case 1:
    case 2: return in.take<uint16_t>() % 600;
    case 3:
    case 4: return in.take<uint16_t>() % 2100;
    case 5: return in.take<uint16_t>() % 9000;
    case 6: return in.take<uint32_t>() % 70000;
    default: return in.flag() ? (size_t { 1 } << 40) + 1 : in.take<uint16_t>() % 5000;  // over 1 TiB: refused
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    FuzzInput in(data, size);
    Source source;
    source.limit = 4 + 4 * size_t { in.byte() };
    Faults faults;
    Heap heap({ &Source::alloc_pages, &Source::free_pages, &source }, { &Faults::record, &faults });
    Model m { heap, source, faults };

    for (size_t op = 0; op < kMaxOps && !in.empty(); ++op) {
        uint8_t kind = in.byte();
        // Choices are read whether or not they are used, so an input means
        // the same steps whatever state the heap is in.
        auto any_live = [&]() -> uintptr_t {
            uint16_t choice = in.take<uint16_t>();
            if (m.live.empty())
                return 0;
            auto it = m.live.begin();
            std::advance(it, choice % m.live.size());
            return it->first;
        };
        switch (kind % 10) {
        case 0:
        case 1: {
            size_t n = pick_size(in);
            size_t refusals = source.refusals;
            void* p = heap.alloc(n);
            if (p != nullptr)
                m.added(p, n, 16);
            else
                FUZZ_CHECK(n > (size_t { 1 } << 40) || source.refusals > refusals);
            break;
        }
        case 2: {
            size_t n = pick_size(in);
            size_t align = size_t { 1 } << (in.byte() % 14);  // up to 8192: past the limit
            if (kind & 0x80)
                align = in.byte();  // anything, powers of two or not
            size_t refusals = source.refusals;
            void* p = heap.alloc_aligned(n, align);
            bool valid = align != 0 && (align & (align - 1)) == 0 && align <= Heap::kMaxAlign;
            if (p != nullptr)
                m.added(p, n, align);
            else
                FUZZ_CHECK(!valid || n > (size_t { 1 } << 40) || source.refusals > refusals);
            FUZZ_CHECK(valid || p == nullptr);
            break;
        }
        case 3:
        case 4:
            if (uintptr_t p = any_live()) {
                m.check_contents(p, m.live[p], m.live[p].size);
                heap.free(reinterpret_cast<void*>(p));
                m.freed(p);
            }
            break;
        case 5: {
            uintptr_t p = in.flag() ? any_live() : 0;
            size_t n = pick_size(in);
            Block old = p ? m.live[p] : Block {};
            size_t refusals = source.refusals;
            void* q = heap.realloc(reinterpret_cast<void*>(p), n);
            if (p == 0) {
                if (q != nullptr)
                    m.added(q, n, 16);
                else
                    FUZZ_CHECK(n > (size_t { 1 } << 40) || source.refusals > refusals);
            } else if (n == 0) {
                FUZZ_CHECK(q == nullptr);
                m.freed(p);
            } else if (q == nullptr) {  // failed: the block is intact
                FUZZ_CHECK(n > (size_t { 1 } << 40) || source.refusals > refusals);
                m.check_contents(p, old, old.size);
            } else {
                uintptr_t moved = reinterpret_cast<uintptr_t>(q);
                m.check_contents(moved, old, old.size < n ? old.size : n);  // the prefix came along
                if (moved != p) {  // one alloc and one free; both held for a moment
                    bool large;
                    m.note_peak(charge(n, 16, large));
                    m.freed(p);
                    m.added(q, n, 16);
                } else {  // in place: neither
                    m.live.erase(p);
                    m.added(q, n, old.align, false);
                }
            }
            break;
        }
        case 6:
            if (uintptr_t p = any_live()) {
                size_t room = heap.usable_size(reinterpret_cast<void*>(p));
                FUZZ_CHECK(kOverhead != 0 ? room == m.live[p].size : room >= m.live[p].size);
                memset(reinterpret_cast<void*>(p), m.live[p].fill, room);  // all of it is ours
                m.check_contents(p, m.live[p], m.live[p].size);
            }
            break;
        case 7:
            heap.trim();
            break;
        case 8: {  // misuse
            uintptr_t p = 0;
            int how = in.byte() % 3;
            switch (in.byte() % 3) {
            case 0: {  // freed before, and not the start of a live block now
                uint16_t choice = in.take<uint16_t>();
                if (!m.stale.empty())
                    p = m.stale[choice % m.stale.size()];
                if (m.live.count(p))
                    p = 0;
                break;
            }
            case 1: {  // inside a live block, not its start
                uintptr_t q = any_live();
                uint16_t choice = in.take<uint16_t>();
                size_t room = q != 0 ? m.usable(q) : 0;
                if (room > 16)
                    p = q + 16 * (1 + choice % ((room - 1) / 16));
                break;
            }
            case 2: {  // misaligned: refused before any read
                uintptr_t q = any_live();
                uint16_t choice = in.take<uint16_t>();
                if (q != 0)
                    p = q + 1 + choice % 15;
                break;
            }
            }
            if (p != 0)
                m.misuse(p, how);
            break;
        }
        case 9:
#ifdef EXO_HEAP_REDZONE
            // One byte past the request: caught when the block is freed.
            if (uintptr_t p = any_live()) {
                Block b = m.live[p];
                reinterpret_cast<uint8_t*>(p)[b.size] ^= 0x5A;
                heap.free(reinterpret_cast<void*>(p));
                m.freed(p);
                FUZZ_CHECK(faults.last == HeapFault::RedZoneOverflow);
                ++m.faults_seen;
            }
#endif
            break;
        }
        m.check_stats();
    }

    // Everything back: no block, no page, no count left over.
    for (auto& [p, b] : m.live) {
        m.check_contents(p, b, b.size);
        heap.free(reinterpret_cast<void*>(p));
        ++m.frees;
    }
    m.live.clear();
    heap.trim();
    HeapStats s = heap.stats();
    FUZZ_CHECK(s.used_bytes == 0 && s.mapped_bytes == 0 && s.free_bytes == 0 && s.slabs == 0 && s.large_runs == 0);
    FUZZ_CHECK(s.spare_pages == 0 && s.allocs == s.frees && s.faults == m.faults_seen && source.live.empty());
    return 0;
}
