// The kernel's run-time 128/64 division for kernel/lib/tsc_math.h: x86-64's
// DIV divides RDX:RAX by a 64-bit operand in one instruction, where the
// portable path is a 64-step shift-subtract loop.
#include "kernel/lib/tsc_math.h"

namespace exo::tsc_detail {

uint64_t divide_hw(uint64_t hi, uint64_t lo, uint64_t d)
{
    // The caller guarantees hi < d: the quotient fits, so no #DE.
    uint64_t quotient, remainder;
    asm("divq %4" : "=a"(quotient), "=d"(remainder) : "a"(lo), "d"(hi), "rm"(d));
    return quotient;
}

}  // namespace exo::tsc_detail
