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

TEST(SingleStepPlan, CliStiHltAreEmulatedTheRestStepped)
{
    EXPECT_EQ(plan({ 0xFA }).kind, StepKind::Cli);
    EXPECT_EQ(plan({ 0xFB }).kind, StepKind::Sti);
    EXPECT_EQ(plan({ 0xF4 }).kind, StepKind::Hlt);
    EXPECT_EQ(plan({ 0x9C }).kind, StepKind::Pushf);
    EXPECT_EQ(plan({ 0x9D }).kind, StepKind::Popf);
    EXPECT_EQ(plan({ 0x48, 0xCF }).kind, StepKind::Iret);
    EXPECT_EQ(plan({ 0x48, 0x89, 0xC3 }).kind, StepKind::Hardware);  // mov %rax,%rbx
    EXPECT_EQ(plan({ 0x90 }).kind, StepKind::Hardware);
    for (StepKind k : { StepKind::Cli, StepKind::Sti, StepKind::Hlt })
        EXPECT_TRUE(is_emulated(k));
    for (StepKind k : { StepKind::Hardware, StepKind::Pushf, StepKind::Popf, StepKind::Iret })
        EXPECT_FALSE(is_emulated(k));
    EXPECT_EQ(plan({ 0xFA }).length, 1u);
}

TEST(SingleStepPlan, PrefixesCountInTheLength)
{
    EXPECT_EQ(plan({ 0x66, 0x9C }).kind, StepKind::Pushf);
    EXPECT_EQ(plan({ 0x66, 0x9C }).length, 2u);
    EXPECT_EQ(plan({ 0x3E, 0xFA }).kind, StepKind::Cli);
    EXPECT_EQ(plan({ 0x3E, 0xFA }).length, 2u);
}

TEST(SingleStepPlan, UnreadableOrAllPrefixCodeIsAHardwareStep)
{
    EXPECT_EQ(plan_step(nullptr, 0).kind, StepKind::Hardware);
    EXPECT_EQ(plan({ 0x66, 0x66 }).kind, StepKind::Hardware);
    EXPECT_EQ(plan({ 0x66, 0x66 }).length, 0u);
}

TEST(SingleStepEmulation, CliAndStiChangeOnlyIfAndHltOnlyRip)
{
    uint64_t rip = 0x1000, flags = 0x246 | kIf;
    emulate_step(plan({ 0xFA }), rip, flags);
    EXPECT_EQ(rip, 0x1001u);
    EXPECT_EQ(flags, 0x246u & ~kIf);
    emulate_step(plan({ 0x3E, 0xFB }), rip, flags);
    EXPECT_EQ(rip, 0x1003u);
    EXPECT_EQ(flags, 0x246u | kIf);
    emulate_step(plan({ 0xF4 }), rip, flags);
    EXPECT_EQ(rip, 0x1004u);
    EXPECT_EQ(flags, 0x246u | kIf);
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
    EXPECT_EQ(flags_after_step(StepKind::Pushf, before, running), before);
}

TEST(SingleStepFlags, PopfAndIretKeepTheFlagsTheyLoaded)
{
    uint64_t before = 0x246 | kIf;
    EXPECT_EQ(flags_after_step(StepKind::Popf, before, 0x2), 0x2u);
    EXPECT_EQ(flags_after_step(StepKind::Iret, before, 0x2 | kIf), 0x2u | kIf);
}

TEST(SingleStepFlags, TheWordASteppedPushfStoredGetsTheKernelsTfAndIf)
{
    uint64_t before = 0x202;               // IF on, TF off: the kernel's
    uint64_t stored = flags_for_step(before) & ~kRf;  // what the CPU pushed: TF on, IF off
    EXPECT_EQ(flags_after_step(StepKind::Hardware, before, stored), 0x202u);
    EXPECT_EQ(flags_after_step(StepKind::Hardware, 0x2, flags_for_step(0x2)), 0x2u);  // IF was off
}
