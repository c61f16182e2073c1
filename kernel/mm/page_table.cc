#include "kernel/mm/page_table.h"

namespace exo {

namespace {

constexpr uint64_t kTableBytes = 4096;  // one table is one 4 KiB frame, SDM §4.5
constexpr int kLevelBits = 9;
constexpr int kPtShift = 12;  // PTE index: virt bits 20:12
// Level numbers as walk() reports them.
constexpr int kLevelPdpt = 1;
constexpr int kLevelPd = 2;
constexpr int kLeafLevel = kPagingLevels - 1;  // the PT
// Sign extension for PML4 slots 256..511 (virt bit 47 set), SDM §3.3.7.1.
constexpr uint64_t kHighHalf = 0xffff000000000000ull;
constexpr uint64_t kHighHalfFirstSlot = kPageTableEntries / 2;

// Bits the editor owns in a leaf; everything else (address, P, PS, A, D,
// PAT, software-available bits) is preserved by protect().
constexpr uint64_t kRightsBits = pte::kWritable | pte::kUser | pte::kWriteThrough | pte::kCacheDisable
    | pte::kGlobal | pte::kNoExecute;

// Effective rights are the AND of these over all levels.
constexpr PageFlags kAndedRights = PageFlags::Writable | PageFlags::User | PageFlags::Executable;
// These come from the leaf alone.
constexpr PageFlags kLeafOnly = PageFlags::Global | PageFlags::WriteThrough | PageFlags::CacheDisable;

constexpr int level_shift(int level) { return kPtShift + kLevelBits * (kLeafLevel - level); }

constexpr size_t level_index(uint64_t virt, int level)
{
    return static_cast<size_t>((virt >> level_shift(level)) & (kPageTableEntries - 1));
}

// Each size up is one level nearer the root: arithmetic, not compare chains.
constexpr int leaf_level_for(PageSize s)
{
    return kLeafLevel - static_cast<int>(s);
}

constexpr PageSize size_at_level(int level)
{
    return static_cast<PageSize>(kLeafLevel - level);
}
static_assert(leaf_level_for(PageSize::Size2M) == kLevelPd && leaf_level_for(PageSize::Size1G) == kLevelPdpt);
static_assert(size_at_level(kLevelPd) == PageSize::Size2M && size_at_level(kLevelPdpt) == PageSize::Size1G);

// True when the entry at `level` maps memory rather than pointing to a table.
// Out of line: the walkers inlined it at four sites.
[[gnu::noinline]] constexpr bool is_leaf(uint64_t raw, int level)
{
    return level == kLeafLevel || (level > 0 && (raw & pte::kLargePage) != 0);
}

constexpr uint64_t leaf_address(uint64_t raw, PageSize s)
{
    // Large pages keep PAT in bit 12, so mask down to the page size.
    return raw & pte::kAddressMask & ~(page_size_bytes(s) - 1);
}

bool table_empty(const uint64_t* t)
{
    for (size_t i = 0; i < kPageTableEntries; ++i)
        if (t[i] != 0)
            return false;
    return true;
}

// Widens an intermediate entry so it does not restrict what `f` asks for.
// Returns true if the entry changed.
bool widen(uint64_t* slot, PageFlags f)
{
    uint64_t want = *slot;
    if (has(f, PageFlags::Writable))
        want |= pte::kWritable;
    if (has(f, PageFlags::User))
        want |= pte::kUser;
    if (has(f, PageFlags::Executable))
        want &= ~pte::kNoExecute;
    if (want == *slot)
        return false;
    *slot = want;
    return true;
}

// Turns a walk that did not reach a mapping into the caller's error.
Error walk_error(WalkStop stop)
{
    switch (stop) {
    case WalkStop::NonCanonical: return Error::InvalidArgument;
    case WalkStop::NotPresent: return Error::NotMapped;
    default: return Error::Corrupt;
    }
}

bool walk_mapped(WalkStop stop)
{
    return stop == WalkStop::Leaf || stop == WalkStop::LargePage;
}

}  // namespace

FlagsText flags_text(PageFlags f)
{
    FlagsText t {};
    t.text[0] = 'R';
    t.text[1] = has(f, PageFlags::Writable) ? 'W' : '-';
    t.text[2] = has(f, PageFlags::Executable) ? 'X' : '-';
    t.text[3] = has(f, PageFlags::User) ? 'U' : '-';
    t.text[4] = has(f, PageFlags::Global) ? 'G' : '-';
    t.text[5] = '\0';
    return t;
}

uint64_t* PageTable::table_at(uint64_t phys) const
{
    if (m_access.phys_to_virt == nullptr)
        return nullptr;
    return static_cast<uint64_t*>(m_access.phys_to_virt(m_access.ctx, phys));
}

Result<uint64_t> PageTable::new_table() const
{
    if (m_access.alloc_table == nullptr)
        return Error::Unsupported;
    uint64_t phys = TRY(m_access.alloc_table(m_access.ctx));
    uint64_t* t = (phys & ~pte::kAddressMask) == 0 ? table_at(phys) : nullptr;
    if (t == nullptr) {
        release_table(phys);
        return Error::Corrupt;
    }
    __builtin_memset(t, 0, kTableBytes);
    return phys;
}

void PageTable::release_table(uint64_t phys) const
{
    if (m_access.free_table != nullptr)
        m_access.free_table(m_access.ctx, phys);
}

void PageTable::invalidate(uint64_t virt) const
{
    if (m_access.invalidate != nullptr)
        m_access.invalidate(m_access.ctx, virt);
}

// PageFlags and PTE bits line up in runs, so each run moves with one shift:
// W,U = PTE bits 1-2 = flag bits 0-1; PWT,PCD,A,D = PTE bits 3-6 = flag bits
// 4-7; G = PTE bit 8 = flag bit 3 (static_asserts below).
static_assert(static_cast<uint16_t>(PageFlags::Writable) << 1 == pte::kWritable
    && static_cast<uint16_t>(PageFlags::User) << 1 == pte::kUser
    && static_cast<uint16_t>(PageFlags::WriteThrough) >> 1 == pte::kWriteThrough
    && static_cast<uint16_t>(PageFlags::CacheDisable) >> 1 == pte::kCacheDisable
    && static_cast<uint16_t>(PageFlags::Accessed) >> 1 == pte::kAccessed
    && static_cast<uint16_t>(PageFlags::Dirty) >> 1 == pte::kDirty
    && static_cast<uint16_t>(PageFlags::Global) << 5 == pte::kGlobal);

uint64_t PageTable::leaf_bits(PageFlags f) const
{
    uint64_t v = static_cast<uint16_t>(f);
    uint64_t bits = (v & 3) << 1 | (v & 0x30) >> 1 | (v & 8) << 5;
    if (!has(f, PageFlags::Executable) && m_nx == NoExecute::Supported)
        bits |= pte::kNoExecute;
    return bits;
}

PageFlags PageTable::decode(uint64_t raw) const
{
    uint64_t v = (raw >> 1 & 3) | (raw << 1 & 0xf0) | (raw >> 5 & 8);
    if ((raw & pte::kNoExecute) == 0 || m_nx == NoExecute::Unsupported)
        v |= static_cast<uint16_t>(PageFlags::Executable);
    return static_cast<PageFlags>(v);
}

Result<void> PageTable::check_rights(PageFlags f) const
{
    bool wx = has(f, PageFlags::Writable) && has(f, PageFlags::Executable);
    if (wx && !has(f, PageFlags::AllowWriteExecute))
        return Error::InvalidArgument;
    return {};
}

Result<PageTable> PageTable::create(const PhysAccess& access, NoExecute nx)
{
    PageTable pt(access, 0, nx);
    pt.m_root = TRY(pt.new_table());
    return pt;
}

// The one walk behind walk(), translate(), unmap() and protect(). When
// `slots` is given it receives a pointer to the entry read at each level.
WalkResult PageTable::walk_into(uint64_t virt, uint64_t** slots) const
{
    WalkResult r {};
    r.stop = WalkStop::NonCanonical;
    if (!is_canonical(virt))
        return r;
    uint64_t table = m_root;
    PageFlags rights = kAndedRights;
    for (int level = 0; level < kPagingLevels; ++level) {
        uint64_t* t = table_at(table);
        if (t == nullptr) {
            r.stop = WalkStop::Unreadable;
            return r;
        }
        size_t index = level_index(virt, level);
        uint64_t raw = t[index];
        PageFlags own = decode(raw);
        r.levels[level] = WalkLevel {
            .table_phys = table,
            .entry_phys = table + index * sizeof(uint64_t),
            .index = static_cast<uint16_t>(index),
            .raw = raw,
            .flags = own,
        };
        r.depth = level + 1;
        if (slots != nullptr)
            slots[level] = &t[index];
        if ((raw & pte::kPresent) == 0) {
            r.stop = WalkStop::NotPresent;
            return r;
        }
        if (level == 0 && (raw & pte::kLargePage) != 0) {
            r.stop = WalkStop::Reserved;
            return r;
        }
        rights = rights & own;
        if (is_leaf(raw, level)) {
            PageSize size = size_at_level(level);
            uint64_t base = leaf_address(raw, size);
            r.stop = level == kLeafLevel ? WalkStop::Leaf : WalkStop::LargePage;
            r.translation = Translation {
                .phys = base + (virt & (page_size_bytes(size) - 1)),
                .page_phys = base,
                .size = size,
                .flags = rights | (own & kLeafOnly),
            };
            return r;
        }
        table = raw & pte::kAddressMask;
    }
    return r;  // unreachable: level 3 is always a leaf
}

WalkResult PageTable::walk(uint64_t virt) const
{
    return walk_into(virt, nullptr);
}

Result<Translation> PageTable::translate(uint64_t virt) const
{
    WalkResult w = walk_into(virt, nullptr);
    if (!walk_mapped(w.stop))
        return walk_error(w.stop);
    return w.translation;
}

Result<void> PageTable::map(uint64_t virt, uint64_t phys, PageSize size, PageFlags flags)
{
    uint64_t bytes = page_size_bytes(size);
    if (!is_canonical(virt) || virt % bytes != 0 || phys % bytes != 0 || phys >= pte::kMaxPhys)
        return Error::InvalidArgument;
    TRY_VOID(check_rights(flags));

    // Tables created by this call, undone if a later step fails. Only the
    // first n_created / n_existing entries are read, so no zeroing (three
    // rep stos per call, each iteration a TCG block).
    uint64_t created[kPagingLevels];
    uint64_t* created_slot[kPagingLevels];
    int n_created = 0;
    // Existing upper entries, widened only once the map is sure to succeed.
    uint64_t* existing[kPagingLevels];
    int n_existing = 0;
    Error failure = Error::Corrupt;

    int leaf_level = leaf_level_for(size);
    uint64_t table = m_root;
    uint64_t* slot = nullptr;
    for (int level = 0;; ++level) {
        uint64_t* t = table_at(table);
        if (t == nullptr)
            goto fail;
        slot = &t[level_index(virt, level)];
        if (level == leaf_level)
            break;
        if ((*slot & pte::kPresent) == 0) {
            Result<uint64_t> fresh = new_table();
            if (!fresh) {
                failure = fresh.error();
                goto fail;
            }
            uint64_t user = has(flags, PageFlags::User) ? pte::kUser : 0;
            *slot = fresh.value() | pte::kPresent | pte::kWritable | user;
            created[n_created] = fresh.value();
            created_slot[n_created] = slot;
            ++n_created;
        } else if ((*slot & pte::kLargePage) != 0) {
            // A larger page already covers virt (or PS is set in a PML4E).
            failure = level == 0 ? Error::Corrupt : Error::Busy;
            goto fail;
        } else {
            existing[n_existing++] = slot;
        }
        table = *slot & pte::kAddressMask;
    }
    if ((*slot & pte::kPresent) != 0) {
        failure = Error::Busy;
        goto fail;
    }
    {
        bool widened = false;
        for (int i = 0; i < n_existing; ++i)
            widened |= widen(existing[i], flags);
        *slot = phys | pte::kPresent | leaf_bits(flags) | (size == PageSize::Size4K ? 0 : pte::kLargePage);
        // P 0->1 needs no flush (SDM §4.10.4.3); a widened upper level may be cached.
        if (widened)
            invalidate(virt);
    }
    return {};

fail:
    while (n_created > 0) {
        --n_created;
        *created_slot[n_created] = 0;
        release_table(created[n_created]);
    }
    return failure;
}

// The walk to the page that starts at `virt`: unmap and protect act on whole
// pages only. Into the caller's WalkResult: returned in a Result, its 200
// bytes were copied four times.
Result<void> PageTable::walk_to_page(uint64_t virt, uint64_t** slots, WalkResult& w) const
{
    w = walk_into(virt, slots);
    if (!walk_mapped(w.stop))
        return walk_error(w.stop);
    if (virt % page_size_bytes(w.translation.size) != 0)
        return Error::InvalidArgument;
    return {};
}

Result<uint64_t> PageTable::unmap(uint64_t virt)
{
    uint64_t* slots[kPagingLevels];  // filled down to the leaf walk_to_page found
    WalkResult w;
    TRY_VOID(walk_to_page(virt, slots, w));
    int leaf = w.depth - 1;
    *slots[leaf] = 0;
    // Unhook tables this left empty, bottom-up; the root always stays.
    // Only the first n_emptied are read: no zeroing.
    uint64_t emptied[kPagingLevels];
    int n_emptied = 0;
    for (int level = leaf; level > 0; --level) {
        const uint64_t* t = slots[level] - w.levels[level].index;
        if (!table_empty(t))
            break;
        *slots[level - 1] = 0;
        emptied[n_emptied++] = w.levels[level].table_phys;
    }
    // INVLPG also drops every paging-structure-cache entry (SDM §4.10.4.1),
    // so the unhooked tables are unreachable once it returns.
    invalidate(virt);
    for (int i = 0; i < n_emptied; ++i)
        release_table(emptied[i]);
    return w.translation.page_phys;
}

Result<void> PageTable::protect(uint64_t virt, PageFlags flags)
{
    TRY_VOID(check_rights(flags));
    uint64_t* slots[kPagingLevels];  // filled down to the leaf walk_to_page found
    WalkResult w;
    TRY_VOID(walk_to_page(virt, slots, w));
    int leaf = w.depth - 1;
    for (int level = 0; level < leaf; ++level)
        widen(slots[level], flags);
    *slots[leaf] = (*slots[leaf] & ~kRightsBits) | leaf_bits(flags);
    invalidate(virt);
    return {};
}

struct PageTable::Visit {
    RangeCallback callback;
    void* ctx;
    MappedRange pending;
    bool has_pending;
    bool stopped;
    bool corrupt;
    uint64_t tables;

    void flush()
    {
        if (has_pending && callback != nullptr && !callback(ctx, pending))
            stopped = true;
        has_pending = false;
    }

    void add(uint64_t virt, uint64_t phys, PageSize size, PageFlags flags)
    {
        uint64_t step = pending.count * page_size_bytes(size);
        if (has_pending && pending.page_size == size && pending.flags == flags && virt == pending.virt + step
            && phys == pending.phys + step) {
            ++pending.count;
            return;
        }
        flush();
        pending = MappedRange { .virt = virt, .phys = phys, .page_size = size, .count = 1, .flags = flags };
        has_pending = true;
    }
};

void PageTable::visit(Visit& v, uint64_t table_phys, int level, uint64_t virt_base, PageFlags rights) const
{
    const uint64_t* t = table_at(table_phys);
    if (t == nullptr) {
        v.corrupt = true;
        return;
    }
    ++v.tables;
    for (size_t i = 0; i < kPageTableEntries && !v.stopped; ++i) {
        uint64_t raw = t[i];
        if ((raw & pte::kPresent) == 0)
            continue;
        uint64_t virt = virt_base | (static_cast<uint64_t>(i) << level_shift(level));
        if (level == 0 && i >= kHighHalfFirstSlot)
            virt |= kHighHalf;
        if (level == 0 && (raw & pte::kLargePage) != 0) {
            v.corrupt = true;
            continue;
        }
        PageFlags own = decode(raw);
        PageFlags below = rights & own;
        if (is_leaf(raw, level)) {
            PageSize size = size_at_level(level);
            v.add(virt, leaf_address(raw, size), size, below | (own & kLeafOnly));
        } else {
            visit(v, raw & pte::kAddressMask, level + 1, virt, below);
        }
    }
}

Result<void> PageTable::for_each_range(RangeCallback callback, void* ctx) const
{
    Visit v {};
    v.callback = callback;
    v.ctx = ctx;
    visit(v, m_root, 0, 0, kAndedRights);
    if (!v.stopped)
        v.flush();
    if (v.corrupt)
        return Error::Corrupt;
    return {};
}

Result<uint64_t> PageTable::table_count() const
{
    Visit v {};
    visit(v, m_root, 0, 0, kAndedRights);
    if (v.corrupt)
        return Error::Corrupt;
    return v.tables;
}

// Also through physical aliases: an executable range whose frames another
// virtual range maps writable (the direct map, say) is as patchable as a
// W+X one. Executable ranges are few, so a walk per one is cheap.
Result<WxAudit> PageTable::audit_wx() const
{
    WxAudit audit {};
    TRY_VOID(for_each_range([this, &audit](const MappedRange& x) {
        if (!has(x.flags, PageFlags::Executable))
            return true;
        if (has(x.flags, PageFlags::Writable)) {
            ++audit.ranges;
            audit.bytes += x.bytes();
        }
        bool aliased = false;
        (void)for_each_range([&x, &aliased](const MappedRange& w) {
            aliased |= has(w.flags, PageFlags::Writable) && w.virt != x.virt && w.phys < x.phys + x.bytes()
                && x.phys < w.phys + w.bytes();
            return !aliased;
        });
        audit.alias_ranges += aliased;
        return true;
    }));
    return audit;
}

bool PageTable::has_wx() const
{
    // Stops at the first W+X range; unreadable tables do not hide what was seen.
    bool found = false;
    (void)for_each_range([&found](const MappedRange& r) {
        found = has(r.flags, PageFlags::Writable) && has(r.flags, PageFlags::Executable);
        return !found;
    });
    return found;
}

}  // namespace exo
