// The physical frame allocator against a model holding each frame's state
// (not managed, free, in use), built from the ranges by the rules in
// frame_allocator.h: usable ranges shrunk to whole frames, reserved ones
// grown to whole frames. Random ranges (unaligned, overlapping, some near
// 2^64), then random alloc, alloc_contiguous, free, free_contiguous,
// release_reserved and is_free. After every step the allocator agrees with
// the model: the frame it hands out was free (alloc_contiguous: the lowest
// aligned free run, as first-fit promises), NoMemory only when the model has
// nothing that fits, every error the documented one (double free Corrupt,
// foreign InvalidArgument, release of a managed frame refused), statistics
// equal the model's counts, and the peak is the highest use seen. Freeing
// everything brings the free count back. place_metadata's answer is inside
// one usable range, clear of every reserved one, and the lowest such.
// The bitmap storage is an exact-size heap block.
// Input: ranges, then operations.
#include <stdint.h>
#include <string.h>

#include <memory>
#include <vector>

#include "kernel/mm/frame_allocator.h"
#include "tests/fuzz/fuzz_check.h"
#include "tests/fuzz/fuzz_input.h"

using namespace exo;
using exo::fuzz::FuzzInput;

namespace {

constexpr uint64_t kSpan = 24ull << 20;         // where most ranges fall: 6144 frames
constexpr size_t kMaxStorage = 1 << 16;         // larger bitmaps: init must refuse the buffer
constexpr size_t kMaxOps = 300;
enum class State : uint8_t { Unmanaged, Free, Used };

uint64_t end_of(const PhysRange& r) { return r.length > UINT64_MAX - r.base ? UINT64_MAX : r.base + r.length; }
uint64_t up(uint64_t x) { return x > UINT64_MAX - (kFrameSize - 1) ? UINT64_MAX & ~(kFrameSize - 1) : (x + kFrameSize - 1) & ~(kFrameSize - 1); }
uint64_t down(uint64_t x) { return x & ~(kFrameSize - 1); }

PhysRange pick_range(FuzzInput& in)
{
    uint8_t kind = in.byte();
    if (kind % 8 == 0)  // anywhere, any length: saturation and huge bitmaps
        return { in.take<uint64_t>(), in.take<uint64_t>() };
    uint64_t base = in.take<uint32_t>() % kSpan;
    if (kind & 0x10)
        base = down(base);
    uint64_t length = in.take<uint32_t>() % (kSpan / 2);
    if (kind & 0x20)
        length = down(length);
    return { base, length };
}

// The lowest frame-aligned place for `bytes` inside one usable range, clear
// of every reserved range; UINT64_MAX when there is none.
uint64_t lowest_place(const std::vector<PhysRange>& usable, const std::vector<PhysRange>& reserved, uint64_t bytes)
{
    uint64_t size = up(bytes), best = UINT64_MAX;
    for (const PhysRange& u : usable) {
        uint64_t start = up(u.base), end = down(end_of(u));
        for (uint64_t c = start; c < end && end - c >= size && c < best; c += kFrameSize) {
            bool clear = true;
            for (const PhysRange& r : reserved)
                clear = clear && (r.length == 0 || !(down(r.base) < c + size && c < up(end_of(r))));
            if (clear)
                best = c;
        }
    }
    return best;
}

struct Model {
    std::vector<State> frames;
    uint64_t total = 0, reserved = 0, peak = 0;

    uint64_t count(State s) const
    {
        uint64_t n = 0;
        for (State f : frames)
            n += f == s;
        return n;
    }

    void check(const FrameAllocator& fa)
    {
        FrameStats s = fa.stats();
        uint64_t used = count(State::Used);
        peak = used > peak ? used : peak;
        FUZZ_CHECK(s.total_frames == total && s.reserved_frames == reserved);
        FUZZ_CHECK(s.free_frames == count(State::Free) && s.used_frames == used && s.peak_used_frames == peak);
    }

    // The lowest start aligned to `align` frames of `n` free frames.
    uint64_t first_fit(uint64_t n, uint64_t align) const
    {
        for (uint64_t s = 0; s + n <= frames.size(); s += align) {
            bool fits = true;
            for (uint64_t f = s; f < s + n && fits; ++f)
                fits = frames[f] == State::Free;
            if (fits)
                return s;
        }
        return UINT64_MAX;
    }

    // The error free_contiguous must give, or {} for a success.
    Result<void> free_verdict(uint64_t phys, uint64_t n) const
    {
        uint64_t first = phys / kFrameSize;
        if (n == 0 || phys % kFrameSize != 0 || first >= frames.size() || n > frames.size() - first)
            return Error::InvalidArgument;
        for (uint64_t f = first; f < first + n; ++f) {
            if (frames[f] == State::Unmanaged)
                return Error::InvalidArgument;
        }
        for (uint64_t f = first; f < first + n; ++f) {
            if (frames[f] == State::Free)
                return Error::Corrupt;
        }
        return {};
    }
};

bool same(Result<void> a, Result<void> b) { return a.ok() == b.ok() && (a.ok() || a.error() == b.error()); }

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    FuzzInput in(data, size);
    std::vector<PhysRange> usable(in.byte() % 7), reserved(in.byte() % 9);
    for (PhysRange& r : usable)
        r = pick_range(in);
    for (PhysRange& r : reserved)
        r = pick_range(in);
    PhysRangeList usable_list { usable.data(), usable.size() }, reserved_list { reserved.data(), reserved.size() };

    // place_metadata: inside one usable range, clear of the reserved ones, the lowest.
    uint64_t bytes = 1 + in.take<uint32_t>() % (1 << 20);
    Result<uint64_t> place = FrameAllocator::place_metadata(usable_list, reserved_list, bytes);
    bool small = true;
    for (const PhysRange& r : usable)
        small = small && end_of(r) <= kSpan;
    if (small) {
        uint64_t want = lowest_place(usable, reserved, bytes);
        FUZZ_CHECK(place.ok() == (want != UINT64_MAX) && (!place.ok() || place.value() == want));
    }
    FUZZ_CHECK(!FrameAllocator::place_metadata(usable_list, reserved_list, 0).ok());

    uint64_t highest = FrameAllocator::highest_usable_end(usable_list);
    size_t need = FrameAllocator::bitmap_bytes_for(highest);
    FrameAllocator fa;
    if (need > kMaxStorage) {
        uint64_t small_storage[4];
        FUZZ_CHECK(fa.init(usable_list, reserved_list, small_storage, sizeof small_storage).error() == Error::InvalidArgument);
        return 0;
    }
    std::unique_ptr<uint64_t[]> storage(new uint64_t[need / 8 + 1]);  // +1: room to misalign
    FUZZ_CHECK(fa.init(usable_list, reserved_list, reinterpret_cast<char*>(storage.get()) + 4, need).error()
        == Error::InvalidArgument);
    if (need > 0)
        FUZZ_CHECK(fa.init(usable_list, reserved_list, storage.get(), need - 1).error() == Error::InvalidArgument);
    FUZZ_CHECK(fa.init(usable_list, reserved_list, storage.get(), need).ok());
    FUZZ_CHECK(fa.managed_end() == down(highest));

    // The model, by the header's rules.
    Model m;
    m.frames.assign(highest / kFrameSize, State::Unmanaged);
    for (const PhysRange& r : usable) {
        for (uint64_t f = up(r.base) / kFrameSize; f < down(end_of(r)) / kFrameSize; ++f)
            m.frames[f] = State::Free;
    }
    m.total = m.count(State::Free);
    for (const PhysRange& r : reserved) {
        if (r.length == 0)
            continue;
        for (uint64_t f = down(r.base) / kFrameSize; f < up(end_of(r)) / kFrameSize && f < m.frames.size(); ++f)
            m.frames[f] = State::Unmanaged;
    }
    m.reserved = m.total - m.count(State::Free);
    m.check(fa);
    uint64_t initial_free = m.count(State::Free);
    uint64_t released = 0;

    auto some_frame = [&](uint8_t how) -> uint64_t {
        uint64_t frames = m.frames.size() + 2;
        if (how % 4 == 0) {  // one in use, if any
            uint64_t start = in.below(frames);
            for (uint64_t i = 0; i < m.frames.size(); ++i) {
                uint64_t f = (start + i) % m.frames.size();
                if (m.frames[f] == State::Used)
                    return f * kFrameSize;
            }
        }
        return in.below(frames) * kFrameSize + (how % 16 == 1 ? 8 : 0);  // sometimes not aligned
    };

    for (size_t op = 0; op < kMaxOps && !in.empty(); ++op) {
        uint8_t kind = in.byte();
        switch (kind % 6) {
        case 0: {
            Result<uint64_t> got = fa.alloc();
            FUZZ_CHECK(got.ok() == (m.count(State::Free) != 0));
            if (got.ok()) {
                uint64_t f = got.value() / kFrameSize;
                FUZZ_CHECK(got.value() % kFrameSize == 0 && f < m.frames.size() && m.frames[f] == State::Free);
                m.frames[f] = State::Used;
            } else {
                FUZZ_CHECK(got.error() == Error::NoMemory);
            }
            break;
        }
        case 1: {
            uint64_t n = kind & 0x80 ? in.below(8) : in.below(80);
            uint64_t align = kind & 0x40 ? in.byte() % 7 : uint64_t { 1 } << (in.byte() % 7);
            Result<uint64_t> got = fa.alloc_contiguous(n, align);
            uint64_t a = align == 0 ? 1 : align;
            if (n == 0 || (a & (a - 1)) != 0) {
                FUZZ_CHECK(!got.ok() && got.error() == Error::InvalidArgument);
                break;
            }
            uint64_t want = m.first_fit(n, a);
            FUZZ_CHECK(got.ok() == (want != UINT64_MAX));
            if (!got.ok()) {
                FUZZ_CHECK(got.error() == Error::NoMemory);
                break;
            }
            FUZZ_CHECK(got.value() == want * kFrameSize);
            for (uint64_t f = want; f < want + n; ++f)
                m.frames[f] = State::Used;
            break;
        }
        case 2:
        case 3: {
            uint64_t phys = some_frame(in.byte());
            uint64_t n = kind % 6 == 2 ? 1 : in.below(6);
            Result<void> want = m.free_verdict(phys, n);
            Result<void> got = n == 1 && (kind & 0x40) ? fa.free(phys) : fa.free_contiguous(phys, n);
            FUZZ_CHECK(same(got, want));
            if (got.ok()) {
                for (uint64_t f = phys / kFrameSize; f < phys / kFrameSize + n; ++f)
                    m.frames[f] = State::Free;
            }
            break;
        }
        case 4: {  // frames the caller reserved and no longer needs
            uint64_t phys = some_frame(in.byte() | 1);
            uint64_t n = in.below(5);
            uint64_t first = phys / kFrameSize;
            bool ok = n != 0 && phys % kFrameSize == 0 && n <= m.reserved && first < m.frames.size()
                && n <= m.frames.size() - first;
            for (uint64_t f = first; ok && f < first + n; ++f)
                ok = m.frames[f] == State::Unmanaged;
            Result<void> got = fa.release_reserved(phys, n);
            FUZZ_CHECK(got.ok() == ok && (ok || got.error() == Error::InvalidArgument));
            if (ok) {
                for (uint64_t f = first; f < first + n; ++f)
                    m.frames[f] = State::Free;
                m.reserved -= n;
                released += n;
            }
            break;
        }
        case 5: {
            uint64_t phys = in.take<uint16_t>() * (kFrameSize / 2);
            uint64_t f = phys / kFrameSize;
            FUZZ_CHECK(fa.is_free(phys) == (f < m.frames.size() && m.frames[f] == State::Free));
            break;
        }
        }
        m.check(fa);
    }

    // Everything in use goes back.
    for (uint64_t f = 0; f < m.frames.size(); ++f) {
        if (m.frames[f] == State::Used) {
            FUZZ_CHECK(fa.free(f * kFrameSize).ok());
            m.frames[f] = State::Free;
        }
    }
    m.check(fa);
    FUZZ_CHECK(fa.stats().used_frames == 0 && fa.stats().free_frames == initial_free + released);
    return 0;
}
