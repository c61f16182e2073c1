// Single-stepping that the debugged kernel cannot see. A hardware step runs
// the instruction with TF set and IF clear (or `stepi` would land in the
// timer handler); left at that, `cli` is undone when IF is put back, TF
// shows in eflags, and `pushfq` stores TF=1/IF=0 into kernel memory. So:
// cli, sti and hlt are emulated (nothing to run); after any other step TF
// and IF are put back as they were, except where the instruction loaded
// them itself (popf, iret); and the word a pushf stored gets the kernel's
// TF and IF back. Pure: the kernel reads the code and the stack word, and
// writes back what these return.
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace exo {

constexpr uint64_t kFlagTf = 1ull << 8;
constexpr uint64_t kFlagIf = 1ull << 9;
constexpr uint64_t kFlagRf = 1ull << 16;

// Opcodes fa fb f4 9c 9d cf, in this order, are Cli..Iret.
enum class StepKind : uint8_t {
    Hardware,  // run it with TF set
    Cli,       // emulated: clears IF
    Sti,       // emulated: sets IF (and no step trap follows a real sti: the interrupt shadow)
    Hlt,       // emulated: a stepped hlt would sleep until the next interrupt
    Pushf,     // run it, then give the stored flags word the kernel's TF and IF
    Popf,      // run it; it loads TF and IF itself
    Iret,      // (likewise)
};

constexpr bool is_emulated(StepKind kind) { return kind >= StepKind::Cli && kind <= StepKind::Hlt; }

struct StepPlan {
    StepKind kind = StepKind::Hardware;
    uint8_t length = 0;  // bytes of the instruction, prefixes included
};

// Decodes the instruction at the start of `code` (the `size` readable bytes there).
StepPlan plan_step(const uint8_t* code, size_t size);

// Executes an emulated kind on the registers given.
void emulate_step(const StepPlan& plan, uint64_t& rip, uint64_t& rflags);

// Flags to run a hardware step with.
constexpr uint64_t flags_for_step(uint64_t rflags) { return (rflags | kFlagTf) & ~kFlagIf; }
// The flags to report after a hardware step of `kind` (`after`: as the step
// left them; `before`: as the kernel had them). Also fixes the flags word a
// Pushf stored (pass it as `after` with kind Hardware).
uint64_t flags_after_step(StepKind kind, uint64_t before, uint64_t after);

}  // namespace exo
