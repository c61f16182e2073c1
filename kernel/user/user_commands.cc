// `user PROGRAM`: start the embedded ring-3 program in one of its modes.
#include "shell/kernel_commands.h"
#include "kernel/user/user_mode_hw.h"

namespace exo {
namespace {

// alignas(8): the element's alignment, not the ABI's 16 for arrays and aggregates (padding).
alignas(8) constexpr const char* kPrograms[] = { "sampler", "badptr", "fault", "bench", "trap", "step", "fuzz", nullptr };
void complete_program(Completions& out) { out.add_all(kPrograms); }

Result<void> cmd_user(CommandContext& ctx, int argc, const char* const* argv)
{
    if (argc != 2)
        return ctx.usage_error();
    for (uint64_t i = 0; kPrograms[i]; ++i) {
        if (__builtin_strcmp(argv[1], kPrograms[i]) != 0)
            continue;
        Result<Thread*> t = user_mode::spawn(static_cast<user_mode::Program>(i));
        if (!t.ok())
            return ctx.fail(t.error(), "cannot start the program");
        print(ctx, "started thread %u (%s) in ring 3\n", t.value()->id, t.value()->name);
        return {};
    }
    return ctx.fail(Error::NotFound, "no such program", argv[1]);
}

}  // namespace

EXO_SHELL_COMMAND(kUserCommand, "user", "user sampler|badptr|fault|bench|trap|step|fuzz",
    "run a ring-3 test program", cmd_user, complete_program, 1, Command::kNotInDebugger);

}  // namespace exo
