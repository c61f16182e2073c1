// `bt [ID]`: kdb's backtrace of any thread, from the context it saved when
// it was switched out (the shell's own without an ID).
#include "kernel/arch/x86_64/cpu.h"
#include "kernel/debug/backtrace_hw.h"
#include "kernel/mm/memory_hw.h"
#include "kernel/sched/threads_hw.h"
#include "shell/kernel_commands.h"
#include "shell/tokenizer.h"

namespace exo {
namespace {

// context_switch.S pushes rbp, rbx, r12-r15 below its return address: the
// saved rsp points at r15, rbp is word 5 and the return address word 6.
constexpr size_t kSavedWords = 7, kSavedRbp = 5, kSavedRip = 6;

Result<void> cmd_bt(CommandContext& ctx, int argc, const char* const* argv)
{
    Scheduler& s = threads::scheduler();
    cpu::InterruptGuard guard;  // the thread can neither run nor exit meanwhile
    Thread* t = s.current();
    if (argc == 2) {
        Result<uint64_t> id = parse_u64(argv[1]);
        for (t = s.first_thread(); t && !(id.ok() && t->id == id.value()); t = Scheduler::next_thread(*t)) {
        }
        if (!t)
            return ctx.fail(Error::NotFound, "no such thread", argv[1]);
    }
    auto* arch = static_cast<threads::ThreadArch*>(t->arch);
    uint64_t rip = reinterpret_cast<uint64_t>(&cmd_bt);
    uint64_t rbp = reinterpret_cast<uint64_t>(__builtin_frame_address(0));
    if (t != s.current()) {
        if (!arch || !memory::is_readable(arch->saved_rsp, kSavedWords * 8))
            return ctx.fail(Error::NotFound, "no saved context", argv[1]);
        auto* saved = reinterpret_cast<const uint64_t*>(arch->saved_rsp);
        rip = saved[kSavedRip];
        rbp = saved[kSavedRbp];
    }
    print(ctx, "thread %u (%s), %s:\n", t->id, c_str(t->name), thread_state_name(t->state));
    print_backtrace(ctx.out().sink(), rip, rbp);
    return {};
}

}  // namespace

EXO_SHELL_COMMAND(kBtCommand, "bt", "bt [ID]", "a thread's kernel backtrace", cmd_bt, nullptr, 1);

}  // namespace exo
