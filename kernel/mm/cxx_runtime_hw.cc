// The C++ runtime pieces a freestanding kernel must supply: operator
// new/delete on the kernel heap, and the pure-virtual trap.
#include <stddef.h>

#include <new>

#include "kernel/arch/x86_64/cpu.h"
#include "kernel/mm/memory_hw.h"
#include "kernel/debug/panic_hw.h"

namespace {

void* heap_alloc(size_t size)
{
    exo::cpu::InterruptGuard guard;
    return exo::memory::heap().alloc(size);
}

void heap_free(void* p)
{
    if (!p)
        return;
    exo::cpu::InterruptGuard guard;
    exo::memory::heap().free(p);
}

}  // namespace

// Without exceptions a failed new returns nullptr; callers check it.
void* operator new(size_t size) { return heap_alloc(size); }
void* operator new[](size_t size) { return heap_alloc(size); }
void* operator new(size_t size, const std::nothrow_t&) noexcept { return heap_alloc(size); }
void* operator new[](size_t size, const std::nothrow_t&) noexcept { return heap_alloc(size); }
void operator delete(void* p) noexcept { heap_free(p); }
void operator delete[](void* p) noexcept { heap_free(p); }
void operator delete(void* p, size_t) noexcept { heap_free(p); }
void operator delete[](void* p, size_t) noexcept { heap_free(p); }

extern "C" void __cxa_pure_virtual() { exo::panic_message("pure virtual function called"); }
