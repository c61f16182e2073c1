// EXO_NOBREAK puts a function in .text.nobreak, the code that runs between
// a debug trap (#BP, #DB, the COM2 interrupt) and the GDB stub lifting its
// breakpoints, or after it plants them again. A breakpoint there would trap
// inside the debugger, so the stub refuses any (GdbTarget::code_alias), as
// kgdb keeps its own entry path out of reach. The linker script gathers the
// section between __nobreak_start and __nobreak_end, with the interrupt and
// syscall entry stubs (a trap there, before the stack switch, would run on
// the user's stack). Code inlined into such a function goes with it.
#pragma once

#define EXO_NOBREAK __attribute__((section(".text.nobreak")))
