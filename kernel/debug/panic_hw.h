// Fatal paths. panic() is for Critical failures only: everything else
// returns an Error. Both print a report on COM1 and halt (or hand the CPU to
// the GDB stub once it exists).
#pragma once

#include "kernel/arch/x86_64/trap_frame.h"
#include "kernel/lib/format.h"

namespace exo {

[[noreturn]] void panic_message(const char* text);
[[noreturn]] void panic_exception(const TrapFrame& frame);

// Formats (exo::format syntax) and reports like panic_message. Out of line:
// the text buffer inlined at each call site made every caller realign its
// stack and carry its own copy of the formatting call.
[[noreturn]] void panic_v(const char* fmt, FormatSig sig, ...);

template<typename... Args>
[[noreturn]] void panic(const char* fmt, const Args&... args)
{
    panic_v(fmt, detail::signature<Args...>(), EXO_FORMAT_WORDS(args));
}

}  // namespace exo

#define KASSERT(cond)                                                                     \
    do {                                                                                  \
        if (!(cond))                                                                      \
            ::exo::panic("assertion failed: %s at %s:%d", #cond, __FILE__, __LINE__);   \
    } while (0)
