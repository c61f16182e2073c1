// printf-style text output for commands, in exo::format syntax. Each call
// site passes its arguments as variadic words (see kernel/lib/format.h).
#pragma once

#include "kernel/lib/format.h"
#include "shell/command.h"
#include "shell/output.h"

namespace exo {

template<typename... Args>
void print(CommandContext& ctx, const char* fmt, Args&&... args)
{
    (void)format_v(ctx.out().sink(), fmt, detail::signature<Args...>(), EXO_FORMAT_WORDS(args));
}

}  // namespace exo
