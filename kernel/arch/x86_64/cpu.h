// Thin wrappers over privileged x86_64 instructions and registers
// (Intel SDM Vol. 3A ch. 2 "System Architecture Overview").
#pragma once

#include <stdint.h>

namespace exo::cpu {

namespace cr0 {
constexpr uint64_t kWriteProtect = 1ull << 16;
}
namespace cr4 {
constexpr uint64_t kPge = 1ull << 7;
constexpr uint64_t kSmep = 1ull << 20;
constexpr uint64_t kSmap = 1ull << 21;
}
namespace msr {
constexpr uint32_t kEfer = 0xC0000080;
constexpr uint64_t kEferNxe = 1ull << 11;
constexpr uint32_t kFsBase = 0xC0000100;
constexpr uint32_t kGsBase = 0xC0000101;
}

struct CpuidResult {
    uint32_t eax, ebx, ecx, edx;
};

inline CpuidResult cpuid(uint32_t leaf, uint32_t subleaf = 0)
{
    CpuidResult r;
    asm volatile("cpuid" : "=a"(r.eax), "=b"(r.ebx), "=c"(r.ecx), "=d"(r.edx) : "a"(leaf), "c"(subleaf));
    return r;
}

inline uint64_t rdtsc()
{
    uint32_t lo, hi;
    asm volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return (static_cast<uint64_t>(hi) << 32) | lo;
}

inline uint64_t rdmsr(uint32_t msr)
{
    uint32_t lo, hi;
    asm volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
    return (static_cast<uint64_t>(hi) << 32) | lo;
}

inline void wrmsr(uint32_t msr, uint64_t value)
{
    asm volatile("wrmsr" : : "c"(msr), "a"(static_cast<uint32_t>(value)), "d"(static_cast<uint32_t>(value >> 32)));
}

#define EXO_CR_ACCESSORS(n)                                              \
    inline uint64_t read_cr##n()                                         \
    {                                                                    \
        uint64_t v;                                                      \
        asm volatile("mov %%cr" #n ", %0" : "=r"(v));                    \
        return v;                                                        \
    }                                                                    \
    inline void write_cr##n(uint64_t v) { asm volatile("mov %0, %%cr" #n : : "r"(v) : "memory"); }
EXO_CR_ACCESSORS(0)
EXO_CR_ACCESSORS(2)
EXO_CR_ACCESSORS(3)
EXO_CR_ACCESSORS(4)
#undef EXO_CR_ACCESSORS

inline void invlpg(uint64_t virt) { asm volatile("invlpg (%0)" : : "r"(virt) : "memory"); }
inline void cli() { asm volatile("cli" ::: "memory"); }
inline void sti() { asm volatile("sti" ::: "memory"); }
inline void hlt() { asm volatile("hlt" ::: "memory"); }
// Atomically enable interrupts and halt, so a wakeup IRQ can't slip in between.
inline void sti_hlt() { asm volatile("sti; hlt" ::: "memory"); }
inline void pause() { asm volatile("pause"); }

// `p`, as an address the optimizer cannot see through. Knowing a global's
// address, LTO specialises the object's methods on it and every field access
// becomes a 7-10 byte absolute or RIP-relative instruction; reached through
// an opaque pointer they are register-relative (hundreds of bytes for the
// frame allocator, scheduler, log ring, boot info). No code is emitted.
template<typename T>
T* opaque(T* p)
{
    asm("" : "+r"(p));
    return p;
}

inline uint64_t read_flags()
{
    uint64_t f;
    asm volatile("pushfq; popq %0" : "=r"(f));
    return f;
}
constexpr uint64_t kFlagsIf = 1ull << 9;

// IF off; returns the flags from before. Out of line: a call that leaves
// the flags in a register is smaller than pushf/pop/cli moved into a
// register that outlives the guarded code, and debugger tests step through
// it as the guard's entry (pushf ... cli ... ret).
[[gnu::noinline]] inline uint64_t save_flags_cli()
{
    uint64_t flags = read_flags();
    cli();
    return flags;
}

// Saves IF and disables interrupts for a scope: the kernel's lock on a
// single CPU for state shared with interrupt handlers. The flags word is
// kept whole in a register (not a bool behind the guard's address), so
// restoring is push/popf inline (2-3 bytes; bt/jae/sti was 8 at every
// exit). popf puts back the flags of the guard's entry: IF as it was, and
// AC, DF, TF as the guarded code found them (the stub's steps handle popf).
class InterruptGuard {
public:
    [[gnu::always_inline]] InterruptGuard() : m_flags(save_flags_cli()) {}
    [[gnu::always_inline]] ~InterruptGuard() { asm volatile("push %0; popfq" : : "r"(m_flags) : "memory", "cc"); }
    InterruptGuard(const InterruptGuard&) = delete;
    InterruptGuard& operator=(const InterruptGuard&) = delete;

private:
    uint64_t m_flags;
};

[[noreturn]] inline void halt_forever()
{
    for (;;) {
        cli();
        hlt();
    }
}

}  // namespace exo::cpu
