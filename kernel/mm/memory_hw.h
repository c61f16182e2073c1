// The kernel's memory: the frame allocator over the firmware map (its
// bitmap built on first use, after the prompt), the
// kernel's own page tables (direct map + higher-half image with per-section
// permissions), and the heap. Boot tasks "frames", "paging" and "heap".
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "kernel/mm/frame_allocator.h"
#include "kernel/mm/heap.h"
#include "kernel/mm/page_table.h"

namespace exo::memory {

// All physical memory the kernel touches is seen through this window.
constexpr uint64_t kDirectMapBase = 0xFFFF800000000000;
constexpr uint64_t kKernelVma = 0xFFFFFFFF80000000;

// A pointer to [phys, phys+len) if the whole range is mapped (by the boot
// tables' first 1 GiB before "paging", by the direct map after), else null.
const uint8_t* early_phys_to_virt(uint64_t phys, size_t len);
inline void* phys_to_virt(uint64_t phys) { return reinterpret_cast<void*>(kDirectMapBase + phys); }

// Frames handed out; 0 until the frame bitmap exists (it is built on first
// use, and this never builds it: the boot runner reads it around every task).
uint64_t frames_used();
// Single frames for kernel-owned mappings (stacks, user pages); interrupt-safe.
Result<uint64_t> alloc_frame();
void free_frame(uint64_t phys);
FrameStats frame_stats();  // builds the bitmap if nothing has yet
HeapStats heap_stats();
// What a request of `size` bytes would get now, and the free slots per
// class (`mem`), read under the guard: the slab lists change under preemption.
HeapPlan heap_plan(size_t size, size_t (&free)[Heap::kClassCount]);
// heap_stats().used_bytes, cheaply (the boot runner reads it around every task).
size_t heap_used();
// The kernel heap's only entry points (operator new/delete use them): each
// holds the interrupt guard, the heap's lock on one CPU, so no caller can
// reach its free lists with interrupts on.
void* heap_alloc(size_t size);
void heap_free(void* p);
PageTable& kernel_page_table();
// The kernel image's text and rodata are read-only in the direct map too,
// so no writable alias of code exists. The debugger writes there (a
// breakpoint, gdb's M) by making the one page writable (true) for the
// store and read-only again (false), interrupts off. False (and nothing
// done) for any address that is not such an alias. On the trap path: it
// calls nothing.
bool set_alias_writable(uint64_t virt, bool writable);
// A new address space: its own PML4 sharing the kernel half (entries
// 256-511), for ring-3 threads. destroy_address_space() frees its tables
// after the caller unmapped the user pages.
Result<PageTable> create_address_space();
void destroy_address_space(PageTable& space);

struct Footprint {
    uint64_t image_bytes;        // kernel image as loaded (text..bss), less the frames given back after
                                 // boot and less its page tables (counted below)
    uint64_t metadata_bytes;     // frame bitmap
    uint64_t page_table_bytes;   // page tables: boot.S's in the image, then frames allocated for more
    uint64_t heap_mapped_bytes;  // frames the heap holds
    uint64_t used_bytes;         // all the kernel took: image, bitmap, every frame handed out
};
Footprint footprint();

// Gives the image frames nothing needs once the kernel's own tables are
// live (the guard pages) to the frame allocator. Run once,
// right after the prompt.
void release_boot_frames();

// Fixed virtual pages for MMIO the boot needs (Linux calls this the
// fixmap): entries of the image's page table below the image itself,
// written in place, so mapping one costs a few stores and no table editor
// (whose first run would cost boot time under emulation). Uncached,
// writable, never executable.
enum class FixmapSlot : uint8_t {
    Lapic,
    IoApic,
    AcpiSleep,  // a hardware-reduced platform's sleep control register
};
uint64_t fixmap_mmio(FixmapSlot slot, uint64_t phys);

// True when [virt, virt+len) is mapped kernel memory a read cannot disturb
// (not user pages, not device memory mapped cache-disabled): the shell and
// the GDB stub check before touching memory.
bool is_readable(uint64_t virt, size_t len);

}  // namespace exo::memory
