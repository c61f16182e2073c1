// What every fuzz target uses to state an invariant: a violated one names
// itself on stderr and traps, which libFuzzer reports as a crash and saves
// the input for.
#pragma once

#include <stdio.h>

namespace exo::fuzz {

[[noreturn]] inline void invariant_failed(const char* what, const char* file, int line)
{
    fprintf(stderr, "%s:%d: invariant violated: %s\n", file, line, what);
    __builtin_trap();
}

}  // namespace exo::fuzz

#define FUZZ_CHECK(cond) ((cond) ? (void)0 : ::exo::fuzz::invariant_failed(#cond, __FILE__, __LINE__))
