#include "kernel/mm/memory_hw.h"

#include <new>

#include "kernel/arch/x86_64/cpu.h"
#include "kernel/arch/x86_64/cpu_setup.h"
#include "kernel/arch/x86_64/gdt.h"
#include "kernel/boot/boot_info.h"
#include "kernel/boot/boot_sequence_hw.h"
#include "kernel/debug/klog_hw.h"
#include "kernel/debug/panic_hw.h"
#include "kernel/lib/nobreak.h"

// The image's physical bounds (linker.ld) and its guard pages (boot.S).
extern "C" const char __kernel_phys_start[], __kernel_phys_end[];
extern "C" const char boot_stack_guard[], shell_stack_guard[];
// boot.S's tables, which become the kernel's; linked at their physical addresses.
extern "C" const char boot_pml4[], boot_pd[], boot_pt_image[];
// The image's code and read-only data, [__text_start, __data_start) (linker.ld).
extern "C" const char __text_start[], __data_start[];

namespace exo {
const BootInfo& boot_info();
}

namespace exo::memory {
namespace {

constexpr uint64_t kPage = 4096;
constexpr uint64_t kLargePage = 2ull << 20;
constexpr uint64_t kLowMemoryEnd = 1ull << 20;   // BIOS data, EBDA, option ROMs
constexpr uint64_t kEarlyMapEnd = 1ull << 30;    // boot.S maps the first 1 GiB
constexpr uint64_t kBootTableFrames = 7;         // boot.S: PML4, two PDPTs, two PDs, the image PT; g_low_direct
constexpr size_t kMaxRanges = BootInfo::max_regions + 8;

// Owned by the boot tasks below (run once, in order, on the boot CPU);
// afterwards every mutation happens with interrupts off.
// Reached through a pointer set by the "frames" task: with the object's
// address as a constant, LTO specialises the allocator's methods on it and
// every field access becomes a RIP-relative instruction.
constinit FrameAllocator g_frames {};  // gdb prints it by this name (tests/integration)
constinit FrameAllocator* g_allocator = nullptr;
constinit PageTable g_kernel_pt {};
constinit bool g_paging_ready = false;
constinit uint64_t g_metadata_bytes = 0;
constinit uint64_t g_table_frames = 0;
constinit uint64_t g_released_bytes = 0;  // image frames given back (the guard pages)
alignas(Heap) constinit char g_heap_storage[sizeof(Heap)] {};
// The direct map's first 2 MiB in 4 KiB pages (map_direct), so that the
// image's text and rodata can be read-only there.
alignas(4096) constinit uint64_t g_low_direct[kPageTableEntries] {};
constinit Heap* g_heap = nullptr;

FrameAllocator* frames();  // the allocator, its bitmap built on first use

uint64_t align_down(uint64_t v, uint64_t a) { return v & ~(a - 1); }
uint64_t align_up(uint64_t v, uint64_t a) { return (v + a - 1) & ~(a - 1); }

void* pt_phys_to_virt(void*, uint64_t phys) { return phys_to_virt(phys); }
Result<uint64_t> pt_alloc_table(void*)
{
    uint64_t phys = TRY(frames()->alloc());
    ++g_table_frames;
    return phys;
}
void pt_free_table(void*, uint64_t phys)
{
    if (frames()->free(phys).ok())
        --g_table_frames;
}
void pt_invalidate(void*, uint64_t virt)
{
    if (g_paging_ready)
        cpu::invlpg(virt);
}

// alignas(8): the element's alignment, not the ABI's 16 for arrays and aggregates (padding).
alignas(8) constexpr PhysAccess kPhysAccess { pt_phys_to_virt, pt_alloc_table, pt_free_table, pt_invalidate, nullptr };

Result<uintptr_t> heap_alloc_pages(void*, size_t count)
{
    cpu::InterruptGuard guard;
    uint64_t phys = TRY(frames()->alloc_contiguous(count, 1));
    return reinterpret_cast<uintptr_t>(phys_to_virt(phys));
}

void heap_free_pages(void*, uintptr_t addr, size_t count)
{
    cpu::InterruptGuard guard;
    (void)frames()->free_contiguous(addr - kDirectMapBase, count);
}

void heap_fault(void*, HeapFault kind, uintptr_t address)
{
    log_error("heap: %s at %p", heap_fault_name(kind), address);
}

// Everything that must never be handed out: low memory, the image, the
// loader's info block, and every firmware range that is not usable RAM (a
// usable entry overlapping one is clipped). One slot stays free for the
// bitmap's own range (build_frames).
size_t collect_reserved(PhysRange* out)
{
    const BootInfo& info = boot_info();
    size_t n = 0;
    out[n++] = { 0, kLowMemoryEnd };
    out[n++] = { reinterpret_cast<uint64_t>(__kernel_phys_start),
        reinterpret_cast<uint64_t>(__kernel_phys_end) - reinterpret_cast<uint64_t>(__kernel_phys_start) };
    if (info.info_block.length)
        out[n++] = info.info_block;
    return n + info.ranges(false, out + n, kMaxRanges - n - 1);
}

// The frame bitmap, built by the first caller that needs a frame or the
// allocator's figures, not by a boot task: nothing allocates a frame before
// the prompt (the boot tables are in the image, the shell's stack is
// static), and building it runs ~450 distinct instructions, ~0.6 ms under
// TCG. After a failure (logged) the allocator stays empty: every
// allocation answers NoMemory.
FrameAllocator* build_frames()
{
    FrameAllocator* frames = cpu::opaque(&g_frames);  // as in every later use
    g_allocator = frames;
    PhysRange usable[kMaxRanges];
    PhysRange reserved[kMaxRanges];
    size_t n_usable = boot_info().ranges(true, usable, kMaxRanges);
    size_t n_reserved = collect_reserved(reserved);
    PhysRangeList usable_list { usable, n_usable };
    uint64_t bytes = FrameAllocator::bitmap_bytes_for(FrameAllocator::highest_usable_end(usable_list));
    Result<void> built = [&]() -> Result<void> {
        uint64_t meta = TRY(FrameAllocator::place_metadata(usable_list, { reserved, n_reserved }, bytes));
        void* storage = const_cast<uint8_t*>(early_phys_to_virt(meta, bytes));
        if (!storage)
            return Error::NotMapped;
        reserved[n_reserved++] = { meta, align_up(bytes, kPage) };
        g_metadata_bytes = align_up(bytes, kPage);
        return frames->init(usable_list, { reserved, n_reserved }, storage, bytes);
    }();
    if (!built.ok()) {
        log_error("memory: no frame allocator: %s", error_name(built.error()));
        return frames;
    }
    FrameStats s = frames->stats();
    log_debug("memory: %u KiB usable, %u KiB free",
        s.total_frames * 4, s.free_frames * 4);
    return frames;
}

FrameAllocator* frames()
{
    FrameAllocator* f = g_allocator;
    if (!f) [[unlikely]] {
        cpu::InterruptGuard guard;
        f = g_allocator ? g_allocator : build_frames();
    }
    return f;
}

// The "frames" task: the firmware's map must show usable RAM (the bitmap
// over it is built on first use, above).
Result<void> init_frames()
{
    const BootInfo& info = boot_info();
    for (size_t i = 0; i < info.region_count; ++i) {
        if (info.regions[i].type == MemoryType::Usable)
            return {};
    }
    return Error::NotFound;
}

uint64_t* table_of(const char* boot_symbol)
{
    return static_cast<uint64_t*>(phys_to_virt(reinterpret_cast<uint64_t>(boot_symbol)));
}

// Every guard page in the image (boot.S's boot and shell stacks, the IST
// stacks): unmapped so an overflow faults, and given back after the prompt.
// A function pointer, not a template: one copy of the walk for both users.
void for_each_guard_page(void (*f)(uint64_t guard))
{
    f(reinterpret_cast<uint64_t>(boot_stack_guard));
    f(reinterpret_cast<uint64_t>(shell_stack_guard));
    const gdt::GuardedStackInfo* stacks;
    int n = gdt::guarded_stacks(&stacks);
    for (int i = 0; i < n; ++i)
        f(stacks[i].guard);
}

// Whether physical page `index` holds the image's text or rodata.
EXO_NOBREAK bool image_code_page(uint64_t index)
{
    uint64_t first = (reinterpret_cast<uint64_t>(__text_start) - kKernelVma) / kPage;
    uint64_t end = (reinterpret_cast<uint64_t>(__data_start) - kKernelVma) / kPage;
    return index - first < end - first;
}

// Direct map: each RAM region's 2 MiB envelope (plus low memory, where the
// BIOS keeps the ACPI RSDP), writable, never executable. Below 1 GiB that is
// boot.S's directory rewritten in place (no walk, no allocation); RAM above
// it goes through the editor. The directory is itself reached through the
// direct map (entry 0: it lives below 2 MiB), so no entry may be blank even
// for a moment: the RAM entries are written first (Global marks them new),
// then the rest of boot.S's blanket cleared.
Result<void> map_direct(uint64_t* pd, uint64_t nx)
{
    const BootInfo& info = boot_info();
    constexpr uint64_t kLeaf = pte::kPresent | pte::kWritable | pte::kLargePage | pte::kGlobal;
    for (size_t i = 0; i <= info.region_count; ++i) {
        // Entry region_count stands for low memory.
        MemoryRegion r = i < info.region_count ? info.regions[i] : MemoryRegion { 0, kLowMemoryEnd, MemoryType::Usable };
        if (r.type != MemoryType::Usable && r.type != MemoryType::AcpiReclaimable && r.type != MemoryType::AcpiNvs)
            continue;
        for (uint64_t p = align_down(r.base, kLargePage); p < align_up(r.base + r.length, kLargePage); p += kLargePage) {
            if (p < kEarlyMapEnd) {
                pd[p / kLargePage] = p | kLeaf | nx;
                continue;
            }
            Result<void> m = g_kernel_pt.map(kDirectMapBase + p, p, PageSize::Size2M,
                PageFlags::Writable | PageFlags::Global);
            if (!m.ok() && m.error() != Error::Busy)
                return m.error();
        }
    }
    for (size_t i = 0; i < kPageTableEntries; ++i) {
        if ((pd[i] & pte::kGlobal) == 0)
            pd[i] = 0;
    }
    // The first 2 MiB (low memory and the image) in 4 KiB pages, all as
    // before but the image's text and rodata: read-only, as at their own
    // address, so no write can patch code through its alias. One store
    // swaps the entry (the tables are reached through it); the old 2 MiB
    // entry was global, so it is flushed by address.
    for (uint64_t i = 0; i < kPageTableEntries; ++i)
        g_low_direct[i] = i * kPage | pte::kPresent | pte::kGlobal | nx | (image_code_page(i) ? 0 : pte::kWritable);
    pd[0] = reinterpret_cast<uint64_t>(g_low_direct) - kKernelVma + (pte::kPresent | pte::kWritable);
    cpu::invlpg(kDirectMapBase);
    return {};
}

// boot.S built the kernel's tables (image W^X in 4 KiB pages, the first
// 1 GiB in 2 MiB pages at 0 and at the direct map). Adopting them costs a
// few stores: guard pages out, direct map trimmed to RAM, identity slot gone.
Result<void> init_paging()
{
    // The trampoline turned EFER.NXE on if the CPU has it; without it XD is a reserved bit.
    bool nx = cpu::nx_enabled();
    uint64_t* pml4 = table_of(boot_pml4);
    g_kernel_pt = PageTable(kPhysAccess, reinterpret_cast<uint64_t>(boot_pml4),
        nx ? NoExecute::Supported : NoExecute::Unsupported);
    g_table_frames = kBootTableFrames;
    for_each_guard_page([](uint64_t guard) {
        // The image PT's index is the page's offset from the kernel's base.
        table_of(boot_pt_image)[(guard - kKernelVma) / kPage] = 0;
        cpu::invlpg(guard);  // global entries survive the CR3 write below
    });
    TRY_VOID(map_direct(table_of(boot_pd), nx ? pte::kNoExecute : 0));
    pml4[0] = 0;  // the identity map only served the trampoline
    cpu::write_cr3(g_kernel_pt.root());
    g_paging_ready = true;
    // The W+X audit walks every table: the shell's `pages` runs it on demand.
    log_debug("paging: tables at %p, %u frames", g_kernel_pt.root(), g_table_frames);
    return {};
}

Result<void> init_heap()
{
    // Nothing is mapped up front: the first allocation (a thread, at the end
    // of boot) pulls the first page run. No probe here: under emulation every
    // first-run code path costs boot time.
    g_heap = new (g_heap_storage) Heap(PageSource { heap_alloc_pages, heap_free_pages, nullptr },
        HeapFaultHandler { heap_fault, nullptr });
    return {};
}

}  // namespace

EXO_BOOT_TASK(kFramesTask, "frames", BootPhase::Critical, init_frames);
EXO_BOOT_TASK(kPagingTask, "paging", BootPhase::Critical, init_paging, "frames", "cpu", "gdt");
EXO_BOOT_TASK(kHeapTask, "heap", BootPhase::Critical, init_heap, "paging");

const uint8_t* early_phys_to_virt(uint64_t phys, size_t len)
{
    if (len == 0 || phys + len < phys)
        return nullptr;
    if (!g_paging_ready)
        return phys + len <= kEarlyMapEnd ? reinterpret_cast<const uint8_t*>(kDirectMapBase + phys) : nullptr;
    uint64_t virt = kDirectMapBase + phys;
    return is_readable(virt, len) ? reinterpret_cast<const uint8_t*>(virt) : nullptr;
}

bool is_readable(uint64_t virt, size_t len)
{
    if (len == 0)
        return true;
    if (!g_paging_ready || virt + len < virt)
        return false;
    uint64_t end = virt + len;
    for (uint64_t page = align_down(virt, kPage); page < end;) {
        Result<Translation> t = g_kernel_pt.translate(page);
        // Device memory (mapped cache-disabled: the LAPIC, the I/O APIC) is
        // refused like unmapped memory: a read there can have side effects.
        if (!t.ok() || has(t.value().flags, PageFlags::User) || has(t.value().flags, PageFlags::CacheDisable))
            return false;
        uint64_t size = page_size_bytes(t.value().size);
        page = align_down(page, size) + size;
    }
    return true;
}

Result<PageTable> create_address_space()
{
    cpu::InterruptGuard guard;
    NoExecute nx = cpu::nx_enabled() ? NoExecute::Supported : NoExecute::Unsupported;
    PageTable space = TRY(PageTable::create(kPhysAccess, nx));
    constexpr size_t kKernelHalf = 256;  // PML4 entries of the higher half
    auto* dst = static_cast<uint64_t*>(phys_to_virt(space.root()));
    auto* src = static_cast<const uint64_t*>(phys_to_virt(g_kernel_pt.root()));
    for (size_t i = kKernelHalf; i < 512; ++i)
        dst[i] = src[i];
    return space;
}

void destroy_address_space(PageTable& space)
{
    cpu::InterruptGuard guard;
    // unmap() already freed emptied lower tables; the root is the last one.
    pt_free_table(nullptr, space.root());
}

uint64_t frames_used() { return g_allocator ? g_allocator->stats().used_frames : 0; }

Result<uint64_t> alloc_frame()
{
    cpu::InterruptGuard guard;
    return frames()->alloc();
}

void free_frame(uint64_t phys)
{
    cpu::InterruptGuard guard;
    (void)frames()->free(phys);
}
FrameStats frame_stats() { return frames()->stats(); }

EXO_NOBREAK bool set_alias_writable(uint64_t virt, bool writable)
{
    uint64_t index = (virt - kDirectMapBase) / kPage;
    if (index >= kPageTableEntries || !image_code_page(index))
        return false;
    uint64_t& e = g_low_direct[index];
    e = writable ? e | pte::kWritable : e & ~pte::kWritable;
    cpu::invlpg(virt);
    return true;
}
HeapStats heap_stats() { return g_heap ? g_heap->stats() : HeapStats {}; }
size_t heap_used() { return g_heap ? g_heap->used_bytes() : 0; }
HeapPlan heap_plan(size_t size, size_t (&free)[Heap::kClassCount])
{
    cpu::InterruptGuard guard;
    g_heap->free_slots(free);
    return g_heap->plan(size, free);
}
void* heap_alloc(size_t size)
{
    cpu::InterruptGuard guard;
    return g_heap->alloc(size);
}

void heap_free(void* p)
{
    if (!p)
        return;
    cpu::InterruptGuard guard;
    g_heap->free(p);
}
PageTable& kernel_page_table() { return g_kernel_pt; }

// Out of line: the LAPIC and I/O APIC bindings each inlined a copy.
[[gnu::noinline]] uint64_t fixmap_mmio(FixmapSlot slot, uint64_t phys)
{
    bool nx = cpu::nx_enabled();
    size_t index = static_cast<size_t>(slot);
    table_of(boot_pt_image)[index] = (phys & pte::kAddressMask) | pte::kPresent | pte::kWritable
        | pte::kCacheDisable | (nx ? pte::kNoExecute : 0);
    uint64_t virt = kKernelVma + index * kPage;
    cpu::invlpg(virt);
    return virt;
}

// Frames of the image nothing needs once the kernel's tables are live: the
// guard pages (unmapped; only their virtual addresses guard). Failures only
// cost memory, so they are not fatal; a second call finds the frames managed
// already and changes nothing.
void release_boot_frames()
{
    cpu::InterruptGuard guard;  // the allocator's lock
    for_each_guard_page([](uint64_t guard) {
        if (frames()->release_reserved(guard - kKernelVma, 1).ok())
            g_released_bytes += kPage;
    });
}

Footprint footprint()
{
    uint64_t image = reinterpret_cast<uint64_t>(__kernel_phys_end) - reinterpret_cast<uint64_t>(__kernel_phys_start)
        - g_released_bytes;
    return Footprint {
        image - kBootTableFrames * kPage,  // those are page tables
        g_metadata_bytes,
        g_table_frames * kPage,
        heap_stats().mapped_bytes,
        image + g_metadata_bytes + frame_stats().used_frames * kPage,
    };
}

}  // namespace exo::memory
