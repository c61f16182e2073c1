// Single-step planning: which instructions are emulated, and that stepping
// leaves exactly the flags and stack the kernel would have without gdb.
#include <gtest/gtest.h>

#include <vector>

#include "gdbstub/single_step.h"

using namespace exo;

namespace {

StepPlan plan(std::vector<uint8_t> code) { return plan_step(code.data(), code.size()); }

constexpr uint64_t kIf = 1u << 9;
constexpr uint64_t kTf = 1u << 8;
constexpr uint64_t kRf = 1u << 16;

}  // namespace

TEST(SingleStepPlan, FlagInstructionsAreEmulatedAndTheRestStepped)
{
    EXPECT_EQ(plan({ 0xFA }).kind, StepKind::Cli);
    EXPECT_EQ(plan({ 0xFB }).kind, StepKind::Sti);
    EXPECT_EQ(plan({ 0xF4 }).kind, StepKind::Hlt);
    EXPECT_EQ(plan({ 0x9C }).kind, StepKind::Pushf);
    EXPECT_EQ(plan({ 0x9D }).kind, StepKind::Popf);
    EXPECT_EQ(plan({ 0x48, 0xCF }).kind, StepKind::Iret);
    EXPECT_EQ(plan({ 0x48, 0x89, 0xC3 }).kind, StepKind::Hardware);  // mov %rax,%rbx
    EXPECT_EQ(plan({ 0x90 }).kind, StepKind::Hardware);
    EXPECT_EQ(plan({ 0xFA }).length, 1u);
    EXPECT_EQ(plan({ 0x9C }).width, 8u);
}

TEST(SingleStepPlan, PrefixesCountInTheLengthAndOperandSizeNarrowsPushf)
{
    StepPlan p = plan({ 0x66, 0x9C });
    EXPECT_EQ(p.kind, StepKind::Pushf);
    EXPECT_EQ(p.length, 2u);
    EXPECT_EQ(p.width, 2u);
    p = plan({ 0x48, 0x9D });  // REX.W popfq: still 8 bytes
    EXPECT_EQ(p.kind, StepKind::Popf);
    EXPECT_EQ(p.length, 2u);
    EXPECT_EQ(p.width, 8u);
}

TEST(SingleStepPlan, UnreadableOrAllPrefixCodeIsAHardwareStep)
{
    EXPECT_EQ(plan_step(nullptr, 0).kind, StepKind::Hardware);
    EXPECT_EQ(plan({ 0x66, 0x66 }).kind, StepKind::Hardware);
    EXPECT_EQ(plan({ 0x66, 0x66 }).length, 0u);
}

TEST(SingleStepEmulation, CliAndStiChangeOnlyIf)
{
    uint64_t rip = 0x1000, rsp = 0x8000, flags = 0x246 | kIf, word = 0;
    emulate_step(plan({ 0xFA }), rip, rsp, flags, word);
    EXPECT_EQ(rip, 0x1001u);
    EXPECT_EQ(flags, 0x246u & ~kIf);
    emulate_step(plan({ 0xFB }), rip, rsp, flags, word);
    EXPECT_EQ(flags, 0x246u | kIf);
    EXPECT_EQ(rsp, 0x8000u);
    emulate_step(plan({ 0xF4 }), rip, rsp, flags, word);
    EXPECT_EQ(rip, 0x1003u);
    EXPECT_EQ(flags, 0x246u | kIf);
}

TEST(SingleStepEmulation, PushfStoresTheKernelsFlagsNotTheDebuggers)
{
    uint64_t rip = 0x1000, rsp = 0x8000, flags = 0x282 | kRf, word = 0;
    emulate_step(plan({ 0x9C }), rip, rsp, flags, word);
    EXPECT_EQ(rsp, 0x7FF8u);
    EXPECT_EQ(word, 0x282u);  // RF reads as 0; no TF; IF (0x200) as the kernel had it
    EXPECT_EQ(word & kTf, 0u);
    EXPECT_EQ(rip, 0x1001u);
    rsp = 0x8000;
    emulate_step(plan({ 0x66, 0x9C }), rip, rsp, flags, word);
    EXPECT_EQ(rsp, 0x7FFEu);
}

TEST(SingleStepEmulation, PopfLoadsWhatItMayAndKeepsTheRest)
{
    uint64_t rip = 0x1000, rsp = 0x7FF8, flags = 0x2 | kRf | (1u << 17), word = 0x246 | kIf | (1u << 20);
    emulate_step(plan({ 0x9D }), rip, rsp, flags, word);
    EXPECT_EQ(rsp, 0x8000u);
    // IF and the arithmetic flags come from the stack; RF clears; VM (17)
    // stays; VIP (20) is not POPF's to set.
    EXPECT_EQ(flags, (0x246u | kIf | (1u << 17)));
    // 16-bit popf: only the low 16 bits are loaded (CF here); ID (21) stays.
    rsp = 0x7FFE;
    flags = 0x2 | (1u << 21) | 0x40;
    word = 0xFFFF0001;
    emulate_step(plan({ 0x66, 0x9D }), rip, rsp, flags, word);
    EXPECT_EQ(rsp, 0x8000u);
    EXPECT_EQ(flags, (1u << 21) | 0x2 | 0x1);
}

TEST(SingleStepFlags, AHardwareStepRunsMaskedAndReportsTheFlagsAsBefore)
{
    uint64_t before = 0x246 | kIf;
    uint64_t running = flags_for_step(before);
    EXPECT_EQ(running & kTf, kTf);
    EXPECT_EQ(running & kIf, 0u);
    // After the step: the instruction's own flag changes (ZF here) stay;
    // TF and IF are as before the step.
    uint64_t after = (running | 0x40) & ~0x1;
    EXPECT_EQ(flags_after_step(StepKind::Hardware, before, after), (before | 0x40) & ~0x1);
    // iretq loads IF itself: the new value stands.
    EXPECT_EQ(flags_after_step(StepKind::Iret, before, 0x2 | kTf) & (kIf | kTf), 0u);
}
