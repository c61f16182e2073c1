// Shell commands over memory: `mem`, `pages [VADDR]`, `x ADDR [LEN]` (kernel
// text addresses symbolized).
#include "kernel/arch/x86_64/cpu.h"
#include "kernel/debug/symbols_hw.h"
#include "kernel/mm/memory_hw.h"
#include "kernel/mm/safe_memory_hw.h"
#include "shell/kernel_commands.h"
#include "shell/tokenizer.h"

namespace exo {
namespace {

constexpr uint64_t kKiB = 1024;
constexpr uint64_t kFrame = 4096;
constexpr uint64_t kMaxDump = 4096;
constexpr size_t kRow = 16;

// `pages` copies the coalesced ranges (and the W+X audit) with interrupts
// off, then prints: walking the live tables while printing would let another
// thread unmap and free a table the walker is reading. Static: `monitor
// pages` runs on whatever stack gdb stopped, and this is 2.5 KiB.
constexpr size_t kSnapshotRanges = 64;
struct PagesSnapshot {
    MappedRange ranges[kSnapshotRanges];
    size_t count;
};
// All zero: .bss, not image bytes. One snapshot for the shell and `monitor`:
// a `monitor pages` while the shell's own is stopped mid-print replaces it,
// and the shell prints the newer copy (count never exceeds the array).
constinit PagesSnapshot g_pages {};

// An address as a number, or kdb-style as a function's name (its start).
Result<uint64_t> parse_address(const char* text)
{
    Result<uint64_t> n = parse_u64(text);
    SymbolHit hit;
    if (n.ok() || !symbol_named(text, hit))
        return n;
    return hit.address;
}

// `mem [N]`: the heap's free slots per size class, and with N what a
// request of N bytes would get now (which class, how many like it are free,
// how many new pages it takes). The largest free slot alone said nothing
// about a request that falls in another class.
Result<void> cmd_mem(CommandContext& ctx, int argc, const char* const* argv)
{
    uint64_t request = 0;
    if (argc == 2) {
        Result<uint64_t> n = parse_u64(argv[1]);
        if (!n.ok())
            return ctx.fail(Error::InvalidArgument, "bad size", argv[1]);
        request = n.value();
    }
    FrameStats f = memory::frame_stats();
    HeapStats h = memory::heap_stats();
    size_t free_slots[Heap::kClassCount];
    HeapPlan plan = memory::heap_plan(request, free_slots);
    memory::Footprint fp = memory::footprint();
    // used = what the kernel took: its image, the frame bitmap and every
    // frame handed out since. Firmware areas (low memory, boot data) are
    // reserved, not used; total = used + free + reserved.
    uint64_t total = f.total_frames * kFrame / kKiB;
    uint64_t free = f.free_frames * kFrame / kKiB;
    uint64_t used = fp.used_bytes / kKiB;
    uint64_t reserved = total - free - used;
    Listing list(ctx, "classes");
    list.fields(
        "{@phys}physical: {total_kib} KiB total, {used_kib} KiB used, {free_kib} KiB free, {reserved_kib} KiB "
        "reserved (firmware, boot data)\n"
        "  kernel image {kernel_image_kib} KiB, frame bitmap {frame_bitmap_kib} KiB, page tables {page_tables_kib} "
        "KiB, heap {heap_kib} KiB\n{!peak_used_frames}{@}"
        "{@heap}heap: {mapped_bytes} B mapped, {used_bytes} B in use, {peak_bytes} B peak, {free_bytes} B free\n"
        "      {allocs} allocations, {frees} frees, {faults} faults detected\n{!largest_free_bytes}{@}"
        "      free slots (size:count):",
        total, used, free, reserved, fp.image_bytes / kKiB, fp.metadata_bytes / kKiB, fp.page_table_bytes / kKiB,
        fp.heap_mapped_bytes / kKiB, f.peak_used_frames, h.mapped_bytes, h.used_bytes, h.peak_bytes, h.free_bytes,
        h.allocs, h.frees, h.faults, h.largest_free_bytes);
    list.open_items();
    for (size_t c = 0; c < Heap::kClassCount; ++c) {
        if (free_slots[c])
            list.row(" {size}:{free_slots}", Heap::kClassSizes[c], free_slots[c]);
    }
    list.close_items();
    list.text("\n");
    if (argc == 2)
        list.fields("{@request}{bytes} B would get a {block_bytes} B block ({free_slots} free), {new_pages} new pages\n{@}", request, plan.block_bytes, plan.free_slots, plan.new_pages);
    return list.finish();
}

// `pages VADDR [--json]`: each level's entry on the way to one address. A
// blank entry shows no flags (its bits decode to nothing it grants).
Result<void> walk_one(CommandContext& ctx, const char* arg)
{
    Result<uint64_t> addr = parse_address(arg);
    if (!addr.ok())
        return ctx.fail(Error::InvalidArgument, "bad address", arg);
    WalkResult w = memory::kernel_page_table().walk(addr.value());
    Listing list(ctx, "levels");
    list.fields("walk of {address:p}\n", addr.value());
    list.open_items();
    for (int i = 0; i < w.depth; ++i) {
        const WalkLevel& l = w.levels[i];
        list.row("  {level:-5s} [{index:3u}] at phys {entry_phys:p} = {raw:p}  {flags}\n", walk_level_name(i),
            l.index, l.entry_phys, l.raw, c_str(l.raw & pte::kPresent ? flags_text(l.flags).text : "-----"));
    }
    list.close_items();
    if (w.stop == WalkStop::Leaf || w.stop == WalkStop::LargePage)
        list.fields("  -> phys {phys:p} ({page:s} page, effective {flags}){!stop}\n", w.translation.phys,
            c_str(w.stop == WalkStop::Leaf ? "4 KiB" : "large"), c_str(flags_text(w.translation.flags).text),
            walk_stop_name(w.stop));
    else
        list.fields("  -> {stop}\n", walk_stop_name(w.stop));
    return list.finish();
}

Result<void> cmd_pages(CommandContext& ctx, int argc, const char* const* argv)
{
    if (argc == 2)
        return walk_one(ctx, argv[1]);
    const PageTable& pt = memory::kernel_page_table();
    PagesSnapshot& snap = g_pages;
    Result<void> listed;
    Result<WxAudit> audit = Error::NotFound;
    {
        cpu::InterruptGuard guard;  // one CPU: nothing changes the tables meanwhile
        snap.count = 0;
        listed = pt.for_each_range([&snap](const MappedRange& r) {
            if (snap.count == kSnapshotRanges)
                return false;
            snap.ranges[snap.count++] = r;
            return true;
        });
        if (listed.ok() && snap.count == kSnapshotRanges)
            listed = Error::TooLong;  // possibly more than the snapshot holds
        audit = pt.audit_wx();
    }
    Listing list(ctx, "mappings");
    list.open_items();
    list.text("virt               end                phys                size  count  flags\n");
    for (size_t i = 0; i < snap.count; ++i) {
        const MappedRange& r = snap.ranges[i];
        uint64_t size = page_size_bytes(r.page_size);
        list.row("{virt:p} {:p} {phys:p} {:4u}K{!page_size} {count:6u}  {flags}\n", r.virt, r.virt + r.bytes(),
            r.phys, size / 1024, size, r.count, c_str(flags_text(r.flags).text));
    }
    if (!list.json() && !listed.ok())
        return ctx.fail(listed.error(), "page tables unreadable or too long");
    WxAudit wx = audit.ok() ? audit.value() : WxAudit {};
    list.close_items();  // JSON: "wx_ranges" after the array, in the top-level object
    // One line: W+X mappings, and executable ranges whose frames are
    // mapped writable elsewhere (the direct map's alias, say).
    list.fields(wx.ranges | wx.alias_ranges
            ? "W+X audit: {wx_ranges} W+X ranges ({:u} bytes), {wx_alias_ranges} code ranges writable elsewhere!\n"
            : "W+X audit: no writable+executable mappings, no writable alias of code\n{!wx_ranges}{!wx_alias_ranges}",
        wx.ranges, wx.bytes, wx.alias_ranges);
    return list.finish();
}

// Hex dump that checks the mapping first: an unmapped address is an error
// line, never a fault.
Result<void> cmd_x(CommandContext& ctx, int argc, const char* const* argv)
{
    if (argc < 2)
        return ctx.usage_error();
    Result<uint64_t> addr = parse_address(argv[1]);
    if (!addr.ok())
        return ctx.fail(Error::InvalidArgument, "bad address", argv[1]);
    uint64_t len = 64;
    if (argc == 3) {
        Result<uint64_t> l = parse_u64(argv[2]);
        if (!l.ok() || l.value() == 0 || l.value() > kMaxDump)
            return ctx.fail(Error::InvalidArgument, "length must be 1..4096", argv[2]);
        len = l.value();
    }
    // One row at a time, so the shell's stack never holds the whole dump.
    uint64_t off = 0;
    for (; off < len; off += kRow) {
        uint64_t at = addr.value() + off;
        uint8_t row[kRow];
        size_t want = len - off < kRow ? len - off : kRow;
        Result<size_t> got = safe_memory::read(at, row, want);
        if (!got.ok() && off == 0)
            return ctx.fail(got.error(), got.error() == Error::NotMapped ? "address not mapped" : "non-canonical address",
                argv[1]);
        size_t n = got.ok() ? got.value() : 0;
        if (n == 0)
            break;
        SymbolHit hit;
        if (symbolize(at, hit))
            print(ctx, "%p <%s+0x%x>:", at, c_str(hit.name), at - hit.address);  // as gdb's x shows code
        else
            print(ctx, "%p:", at);
        for (size_t i = 0; i < n; ++i)
            print(ctx, " %02x", row[i]);
        print(ctx, "\n");
        if (n < want) {  // ran into unmapped memory: show where it stopped
            off += n;
            break;
        }
    }
    if (off < len)
        print(ctx, "x: stopped at %p: not mapped\n", addr.value() + off);
    return {};
}

}  // namespace

EXO_SHELL_COMMAND(kMemCommand, "mem", "mem [--json] [N]",
    "memory and heap stats; what N bytes get", cmd_mem, nullptr, 1);
EXO_SHELL_COMMAND(kPagesCommand, "pages", "pages [--json] [VADDR|FUNCTION]",
    "kernel mappings, W+X audit; a VADDR's walk", cmd_pages, nullptr, 1);
EXO_SHELL_COMMAND(kXCommand, "x", "x ADDR|FUNCTION [LEN]", "hex dump of mapped memory, never faults", cmd_x,
    nullptr, 2);

}  // namespace exo
