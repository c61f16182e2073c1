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

class GdbTarget {
public:
    // `reg` is never an x87 register (the stub reports those unavailable).
    // An error marks the register unavailable for that thread (a blocked
    // thread only has what its context switch saved).
    virtual Result<uint64_t> read_register(ThreadId thread, GdbRegister reg) = 0;
    virtual Result<void> write_register(ThreadId thread, GdbRegister reg, uint64_t value) = 0;

    // How many bytes were copied from the start; an unmapped first byte is
    // an error. Writes must reach read-only kernel text (through an alias):
    // software breakpoints are planted with them. Must never fault.
    virtual Result<size_t> read_memory(uint64_t address, uint8_t* out, size_t length) = 0;
    virtual Result<size_t> write_memory(uint64_t address, const uint8_t* data, size_t length) = 0;

    // Called whenever a hardware breakpoint or watchpoint changes. Load them
    // when resuming and keep DR7 clear while stopped, so the stub's own
    // memory accesses cannot trigger a watchpoint.
    virtual void set_debug_registers(const DebugRegisters& regs) = 0;

    // Threads: the index-th live thread (NotFound past the end), liveness,
    // and a short description copied into `out` (returns its length).
    virtual Result<ThreadId> thread_at(size_t index) = 0;
    virtual bool thread_alive(ThreadId thread) = 0;
    virtual size_t thread_description(ThreadId thread, char* out, size_t capacity) = 0;

    // `monitor CMD`: run a shell command line (NUL-terminated, `length`
    // chars), its output through out(ctx, ...).
    virtual void run_monitor(const char* command, size_t length, RspWriteFn out, void* ctx) = 0;

protected:
    ~GdbTarget() = default;
};

}  // namespace exo
