#include "kernel/drivers/pic8259/pic_hw.h"

#include "kernel/arch/x86_64/idt.h"
#include "kernel/arch/x86_64/port_io.h"
#include "kernel/drivers/pic8259/pic8259.h"

namespace exo::pic {
namespace {
// Touched only with interrupts off (boot, or inside IRQ handlers).
constinit Pic8259<X86PortIo> g_pic { X86PortIo {} };
}  // namespace

void init() { g_pic.init(idt::kIrqBase); }
void unmask(uint8_t irq) { g_pic.unmask(irq); }
void mask(uint8_t irq) { g_pic.mask(irq); }
void eoi(uint8_t irq) { g_pic.eoi(irq); }
bool is_spurious(uint8_t irq) { return g_pic.is_spurious(irq); }
uint16_t pending() { return g_pic.pending(); }

}  // namespace exo::pic
