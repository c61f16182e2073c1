// What the kernel supplies to the GDB stub: registers of a thread, memory,
// the debug registers, the thread list and the shell (for `monitor`). The
// stub owns everything protocol-shaped: breakpoint bookkeeping (software ones
// are int3 bytes written with write_memory), DR7 encoding, stop replies.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "gdbstub/registers.h"
#include "gdbstub/rsp_codec.h"
#include "kernel/lib/result.h"

namespace exo {

// GDB thread ids are positive; 0 is never a thread (the protocol uses it for
// "any thread"). The kernel maps its own ids onto 1, 2, ...
using ThreadId = uint64_t;

// DR0-DR3 plus DR7 as the stub wants them (Intel SDM Vol. 3B, 18.2).
constexpr size_t kDebugSlots = 4;
struct DebugRegisters {
    uint64_t address[kDebugSlots] {};
    uint64_t dr7 = 0;
};

// Not virtual: a program has one target type, derived from GdbTarget, and
// binds these functions to its own with EXO_BIND_GDB_TARGET(Type) in one
// source file (in namespace exo), so the stub's calls are direct and LTO
// can inline them.
class GdbTarget {
public:
    // `reg` is never an x87 register (the stub reports those unavailable).
    // An error marks the register unavailable for that thread (a blocked
    // thread only has what its context switch saved).
    Result<uint64_t> read_register(ThreadId thread, GdbRegister reg);
    Result<void> write_register(ThreadId thread, GdbRegister reg, uint64_t value);

    // How many bytes were copied from the start; an unmapped first byte is
    // an error. Writes must reach read-only kernel text (through an alias):
    // software breakpoints are planted with them. Must never fault.
    Result<size_t> read_memory(uint64_t address, uint8_t* out, size_t length);
    Result<size_t> write_memory(uint64_t address, const uint8_t* data, size_t length);

    // Where the stub stores a software breakpoint's byte for `address`,
    // with store_code, valid while the breakpoint exists (the kernel: the
    // direct map's alias of the code page, read-only but for that store).
    // Error::Busy for code that runs between a debug trap and the stub
    // lifting its breakpoints (a breakpoint there would trap inside the
    // debugger); NotMapped otherwise.
    Result<uint8_t*> code_alias(uint64_t address);
    // One byte through a code_alias. Called from the trap path: it may call
    // nothing a breakpoint can be planted in.
    void store_code(uint8_t* alias, uint8_t value);

    // The link address of a load address in the program's image (the ELF's
    // LMA, which gdb's compare-sections asks about), or `address` unchanged.
    uint64_t link_address(uint64_t address);

    // Called whenever a hardware breakpoint or watchpoint changes. Load them
    // when resuming and keep DR7 clear while stopped, so the stub's own
    // memory accesses cannot trigger a watchpoint.
    void set_debug_registers(const DebugRegisters& regs);

    // Threads: the index-th live thread (NotFound past the end), liveness,
    // its name (never null), and a short description of its state copied
    // into `out`, always NUL-terminated (returns its length).
    Result<ThreadId> thread_at(size_t index);
    bool thread_alive(ThreadId thread);
    const char* thread_name(ThreadId thread);
    size_t thread_description(ThreadId thread, char* out, size_t capacity);

    // `monitor CMD`: run a shell command line (NUL-terminated, `length`
    // chars), its output through out(ctx, ...).
    void run_monitor(const char* command, size_t length, RspWriteFn out, void* ctx);

protected:
    ~GdbTarget() = default;
};

#define EXO_BIND_GDB_TARGET(Impl)                                                                         \
    Result<uint64_t> GdbTarget::read_register(ThreadId t, GdbRegister r)                          \
    {                                                                                                     \
        return static_cast<Impl*>(this)->read_register(t, r);                                             \
    }                                                                                                     \
    Result<void> GdbTarget::write_register(ThreadId t, GdbRegister r, uint64_t v)                 \
    {                                                                                                     \
        return static_cast<Impl*>(this)->write_register(t, r, v);                                         \
    }                                                                                                     \
    Result<size_t> GdbTarget::read_memory(uint64_t a, uint8_t* out, size_t n)                     \
    {                                                                                                     \
        return static_cast<Impl*>(this)->read_memory(a, out, n);                                          \
    }                                                                                                     \
    Result<size_t> GdbTarget::write_memory(uint64_t a, const uint8_t* data, size_t n)             \
    {                                                                                                     \
        return static_cast<Impl*>(this)->write_memory(a, data, n);                                        \
    }                                                                                                     \
    Result<uint8_t*> GdbTarget::code_alias(uint64_t a) { return static_cast<Impl*>(this)->code_alias(a); } \
    void GdbTarget::store_code(uint8_t* a, uint8_t v) { static_cast<Impl*>(this)->store_code(a, v); }      \
    uint64_t GdbTarget::link_address(uint64_t a) { return static_cast<Impl*>(this)->link_address(a); }    \
    void GdbTarget::set_debug_registers(const DebugRegisters& regs)                               \
    {                                                                                                     \
        static_cast<Impl*>(this)->set_debug_registers(regs);                                              \
    }                                                                                                     \
    Result<ThreadId> GdbTarget::thread_at(size_t i) { return static_cast<Impl*>(this)->thread_at(i); } \
    bool GdbTarget::thread_alive(ThreadId t) { return static_cast<Impl*>(this)->thread_alive(t); }  \
    const char* GdbTarget::thread_name(ThreadId t) { return static_cast<Impl*>(this)->thread_name(t); } \
    size_t GdbTarget::thread_description(ThreadId t, char* out, size_t n)                         \
    {                                                                                                     \
        return static_cast<Impl*>(this)->thread_description(t, out, n);                                   \
    }                                                                                                     \
    void GdbTarget::run_monitor(const char* c, size_t n, RspWriteFn out, void* ctx)               \
    {                                                                                                     \
        static_cast<Impl*>(this)->run_monitor(c, n, out, ctx);                                            \
    }

}  // namespace exo
