// VGA text console: the banner and a mirror of COM1 for a person at the
// QEMU window. Present only when PCI shows a VGA-class device (microvm has
// none, and its 0xB8000 is plain RAM, so probing the buffer would lie).
#include <new>

#include "kernel/arch/x86_64/cpu.h"
#include "kernel/arch/x86_64/port_io.h"
#include "kernel/drivers/vga/vga_text.h"
#include "kernel/drivers/uart16550/console_hw.h"
#include "kernel/drivers/drivers_hw.h"
#include "kernel/mm/memory_hw.h"
#include "kernel/drivers/pci/pci_bus_hw.h"

namespace exo {
namespace {

// Set up by the "vga" task, then written only through the console mirror
// (interrupts off inside console writers that race, single CPU). Built there,
// so it takes .bss rather than .data (its default attribute is not zero).
// Reached through a pointer the compiler cannot see through: with the
// object's address as a constant, every field access in the inlined VgaText
// code becomes a 7-byte RIP-relative instruction instead of a 3-byte one.
alignas(VgaText) constinit char g_vga_storage[sizeof(VgaText)] {};
constinit VgaText* g_vga = nullptr;

void mirror(const char* s, size_t n)
{
    g_vga->write(s, n);
    X86PortIo io;
    CursorPosition c = g_vga->cursor();
    update_hw_cursor(io, c.row, c.col);
}

Result<void> start_vga()
{
    if (!pci_bus::has_class(pci_bus::kClassDisplay, pci_bus::kSubclassVga))
        return Error::Absent;
    // Built through the opaque pointer too: register-relative stores.
    auto* cells = static_cast<uint16_t*>(memory::phys_to_virt(vga::kTextBufferPhys));
    g_vga = new (cpu::opaque(g_vga_storage)) VgaText(cells);
    g_vga->clear();
    static constexpr char banner[] = "Exo-OS 0.1 x86_64 - the shell is mirrored here from COM1\r\n";
    mirror(banner, sizeof banner - 1);
    console::set_mirror(mirror);
    driver_detail("vga", "80x25 at 0xb8000, mirrors COM1, CRTC 0x3d4");
    return {};
}

}  // namespace

EXO_DRIVER_TASK(kVgaTask, "vga", BootPhase::Optional, start_vga, "pci");

}  // namespace exo
