#include "kernel/platform/shell_main.h"

#include "kernel/arch/x86_64/cpu.h"
#include "kernel/platform/boot_sequence.h"
#include "kernel/platform/console.h"

namespace exo {

[[noreturn]] void shell_main()
{
    console::puts("exo> ");
    boot_sequence::mark_prompt();
    for (;;)
        cpu::hlt();
}

}  // namespace exo
