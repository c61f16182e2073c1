#include "gdbstub/single_step.h"

#include "kernel/lib/nobreak.h"

namespace exo {
namespace {

// Legacy prefixes a flags instruction may carry: operand size, segment
// overrides, address size, REPNE/REP (REX, 0x4X, is tested apart).
constexpr char kPrefixes[] = "\x66\x26\x2e\x36\x3e\x64\x65\x67\xf2\xf3";
// StepKind::Cli onwards, in enum order.
constexpr char kOpcodes[] = "\xfa\xfb\xf4\x9c\x9d\xcf";

// Index of byte `b` in `set`, or -1 (tables instead of compare chains).
int find_byte(const char* set, uint8_t b)
{
    for (int i = 0; set[i] != '\0'; ++i) {
        if (static_cast<uint8_t>(set[i]) == b)
            return i;
    }
    return -1;
}

}  // namespace

StepPlan plan_step(const uint8_t* code, size_t size)
{
    StepPlan plan;
    size_t i = 0;
    while (i < size && ((code[i] & 0xF0) == 0x40 || find_byte(kPrefixes, code[i]) >= 0))
        ++i;
    if (i == size)
        return plan;
    plan.length = static_cast<uint8_t>(i + 1);
    plan.kind = static_cast<StepKind>(find_byte(kOpcodes, code[i]) + 1);
    return plan;
}

void emulate_step(const StepPlan& plan, uint64_t& rip, uint64_t& rflags)
{
    rip += plan.length;
    if (plan.kind == StepKind::Cli)
        rflags &= ~kFlagIf;
    else if (plan.kind == StepKind::Sti)
        rflags |= kFlagIf;
}

EXO_NOBREAK uint64_t flags_after_step(StepKind kind, uint64_t before, uint64_t after)
{
    if (kind == StepKind::Popf || kind == StepKind::Iret)
        return after;
    return (after & ~(kFlagTf | kFlagIf)) | (before & (kFlagTf | kFlagIf));
}

}  // namespace exo
