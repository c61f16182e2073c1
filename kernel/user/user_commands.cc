// `user PROGRAM`: start the embedded ring-3 program in one of its modes.
#include "shell/kernel_commands.h"
#include "kernel/user/user_mode_hw.h"
#include "kernel/mm/kernel_stack_hw.h"

namespace exo {
namespace {

// In user_mode::Program order.
alignas(1) constexpr char kPrograms[] = "sampler\0badptr\0fault\0bench\0trap\0step\0fuzz\0";
constexpr size_t kProgramCount = 7;
static_assert(kKernelStackSlots == 64, "the message below names the slot count");
static_assert(static_cast<size_t>(user_mode::Program::Fuzz) + 1 == kProgramCount);
void complete_program(Completions& out) { out.add_all(kPrograms); }

Result<void> cmd_user(CommandContext& ctx, int argc, const char* const* argv)
{
    if (argc != 2)
        return ctx.usage_error();
    size_t i = name_index(kPrograms, argv[1]);
    if (i == kProgramCount)
        return ctx.fail(Error::NotFound, "no such program", argv[1]);
    Result<Thread*> t = user_mode::spawn(static_cast<user_mode::Program>(i));
    if (!t.ok())  // why, in words: a full slot table is not a lack of memory
        return ctx.fail(t.error(), t.error() == Error::Busy ? "no kernel stack slot free (64 threads live)" : nullptr);
    print(ctx, "started thread %u (%s) in ring 3\n", t.value()->id, c_str(t.value()->name));
    return {};
}

}  // namespace

EXO_SHELL_COMMAND(kUserCommand, "user", "user sampler|badptr|fault|bench|trap|step|fuzz",
    "run a ring-3 test program", cmd_user, complete_program, 1, Command::kNotInDebugger);

}  // namespace exo
