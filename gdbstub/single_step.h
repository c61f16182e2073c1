// Single-stepping that the debugged kernel cannot see. A hardware step runs
// the instruction with TF set and IF clear (or `stepi` would land in the
// timer handler); left at that, `pushfq` stores TF=1/IF=0 into kernel
// memory, `cli` is undone when IF is put back, and TF shows in eflags. So
// the instructions that read or write IF or TF are emulated instead, and the
// rest have TF and IF put back as they were. Pure: the kernel reads the
// code and the stack word, and writes back what these return.
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace exo {

constexpr uint64_t kFlagTf = 1ull << 8;
constexpr uint64_t kFlagIf = 1ull << 9;
constexpr uint64_t kFlagRf = 1ull << 16;

enum class StepKind : uint8_t {
    Hardware,  // run it with TF set
    // Emulated from here on (their opcodes in this order: fa fb f4 9c 9d):
    Cli,
    Sti,       // (also: no step trap follows a real sti, the interrupt shadow)
    Hlt,       // a stepped hlt would sleep until the next interrupt
    Pushf,
    Popf,
    Iret,      // opcode cf: run with TF set; it loads IF itself, so leave IF as it comes back
};

struct StepPlan {
    StepKind kind = StepKind::Hardware;
    uint8_t length = 0;  // bytes of the instruction, for the emulated kinds
    uint8_t width = 8;   // bytes pushf/popf move (2 with a 0x66 prefix)
};

// Decodes the instruction at the start of `code` (the `size` readable bytes there).
StepPlan plan_step(const uint8_t* code, size_t size);

// Applies an emulated kind to the registers given. Pushf: `stack_word` is
// set to what goes to the new [rsp] (width bytes of it). Popf: `stack_word`
// holds what was at [rsp] before.
void emulate_step(const StepPlan& plan, uint64_t& rip, uint64_t& rsp, uint64_t& rflags, uint64_t& stack_word);

// Flags to run a hardware step with, and the flags to report after it:
// TF as before the step, IF as before unless the instruction loaded it.
constexpr uint64_t flags_for_step(uint64_t rflags) { return (rflags | kFlagTf) & ~kFlagIf; }
uint64_t flags_after_step(StepKind kind, uint64_t before, uint64_t after);

}  // namespace exo
