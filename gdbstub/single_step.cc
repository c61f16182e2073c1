#include "gdbstub/single_step.h"

#include "kernel/lib/nobreak.h"

namespace exo {
namespace {

// Flags POPF may change at CPL 0 in 64-bit mode (Intel SDM Vol. 2B, POPF):
// CF PF AF ZF SF TF IF DF OF IOPL NT AC ID. RF is cleared; VM, VIF, VIP
// stay. Bit 1 always reads as 1.
constexpr uint64_t kPopfMask = 0x1 | 0x4 | 0x10 | 0x40 | 0x80 | 0x100 | 0x200 | 0x400 | 0x800 | 0x3000 | 0x4000
    | 1u << 18 | 1u << 21;
static_assert(kPopfMask == 0x247FD5);
constexpr uint64_t kFlagsFixed = 1u << 1;
constexpr uint64_t kFlagVm = 1ull << 17;

constexpr uint8_t kOperandSize = 0x66;
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
    for (; i < size && ((code[i] & 0xF0) == 0x40 || find_byte(kPrefixes, code[i]) >= 0); ++i) {
        if (code[i] == kOperandSize)
            plan.width = 2;
    }
    if (i == size)
        return plan;
    plan.length = static_cast<uint8_t>(i + 1);
    plan.kind = static_cast<StepKind>(find_byte(kOpcodes, code[i]) + 1);
    return plan;
}

void emulate_step(const StepPlan& plan, uint64_t& rip, uint64_t& rsp, uint64_t& rflags, uint64_t& stack_word)
{
    rip += plan.length;
    uint64_t width_mask = plan.width == 2 ? 0xFFFF : ~uint64_t { 0 };
    switch (plan.kind) {
    case StepKind::Cli: rflags &= ~kFlagIf; break;
    case StepKind::Sti: rflags |= kFlagIf; break;
    case StepKind::Pushf:
        // The image POPF would see: RF and VM read as 0 (SDM, PUSHF).
        stack_word = rflags & ~(kFlagRf | kFlagVm);
        rsp -= plan.width;
        break;
    case StepKind::Popf: {
        uint64_t mask = kPopfMask & width_mask;
        rflags = ((rflags & ~mask & ~kFlagRf) | (stack_word & mask)) | kFlagsFixed;
        rsp += plan.width;
        break;
    }
    default: break;
    }
}

EXO_NOBREAK uint64_t flags_after_step(StepKind kind, uint64_t before, uint64_t after)
{
    uint64_t kept = kind == StepKind::Iret ? kFlagTf : kFlagTf | kFlagIf;
    return (after & ~kept) | (before & kept);
}

}  // namespace exo
