#include <stdint.h>
#include "kernel/arch/x86_64/port_io.h"
#include "kernel/drivers/uart16550.h"

using namespace exo;

extern "C" [[noreturn]] void kernel_main(uint32_t magic, uint32_t info_phys, uint64_t tsc_entry)
{
    (void)magic; (void)info_phys; (void)tsc_entry;
    Uart16550<X86PortIo> com1 { X86PortIo {}, 0x3F8 };
    (void)com1.init(115200);
    const char msg[] = "Exo-OS booting\r\nexo> ";
    com1.write_bytes(msg, sizeof msg - 1);
    for (;;)
        asm volatile("hlt");
}
