// printf-style text output for commands, in exo::format syntax. Each call
// site passes its arguments as variadic words (see kernel/lib/format.h).
#pragma once

#include "kernel/lib/format.h"
#include "shell/command.h"
#include "shell/output.h"

namespace exo {

void print_v(Output& out, const char* fmt, FormatSig sig, ...);

template<typename... Args>
void print(CommandContext& ctx, const char* fmt, Args&&... args)
{
    print_v(ctx.out(), fmt, detail::signature<Args...>(), EXO_FORMAT_WORDS(args));
}

}  // namespace exo
