// Physical address spans handed to the memory code. Kept apart from the boot
// parser's types so the allocator does not depend on how memory was found.
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace exo {

// [base, base + length) in physical memory. Need not be page aligned.
struct PhysRange {
    uint64_t base;
    uint64_t length;
};

// A read-only view of caller-owned ranges (freestanding has no <span>).
struct PhysRangeList {
    const PhysRange* data = nullptr;
    size_t count = 0;

    constexpr const PhysRange* begin() const { return data; }
    constexpr const PhysRange* end() const { return data + count; }
};

// End of a range, saturating instead of wrapping past 2^64.
constexpr uint64_t phys_range_end(const PhysRange& r)
{
    return r.length > UINT64_MAX - r.base ? UINT64_MAX : r.base + r.length;
}

}  // namespace exo
