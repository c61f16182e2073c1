// The C++ runtime pieces a freestanding kernel must supply: operator
// new/delete on the kernel heap, and the pure-virtual trap.
#include <stddef.h>

#include <new>

#include "kernel/mm/memory_hw.h"
#include "kernel/debug/panic_hw.h"

using exo::memory::heap_alloc;
using exo::memory::heap_free;

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
