// PS/2 keyboard: a second input for the shell. IRQ 1 decodes set-1 scancodes
// into the bytes a VT100 terminal would send and feeds them to the same
// input ring as COM1, so the line editor cannot tell them apart.
#include "kernel/arch/x86_64/idt.h"
#include "kernel/drivers/pic8259/pic_hw.h"
#include "kernel/arch/x86_64/port_io.h"
#include "kernel/drivers/i8042/i8042.h"
#include "kernel/drivers/i8042/scancode.h"
#include "kernel/drivers/drivers_hw.h"
#include "kernel/drivers/uart16550/serial_input_hw.h"

namespace exo {
namespace {

constexpr uint8_t kIrqKeyboard = 1;

// Initialized by the "ps2kbd" task; afterwards touched only by the IRQ 1 handler.
constinit I8042<X86PortIo> g_i8042 { X86PortIo {} };
constinit KeyDecoder g_decoder {};
constinit uint64_t g_keys = 0;

void on_keyboard(TrapFrame&)
{
    Result<uint8_t> code = g_i8042.read_data();
    if (!code.ok())
        return;
    KeyEvent ev = g_decoder.feed(code.value());
    char bytes[kMaxTerminalBytes];
    size_t n = to_terminal_bytes(ev, bytes);
    if (n) {
        ++g_keys;
        serial_input::inject(bytes, n);
    }
}

Result<void> start_keyboard()
{
    TRY_VOID(g_i8042.init());
    idt::set_irq_handler(kIrqKeyboard, on_keyboard);
    pic::unmask(kIrqKeyboard);
    driver_detail("ps2kbd", "i8042 at 0x60/0x64, IRQ 1, set 1 (translated), US");
    return {};
}

}  // namespace

EXO_DRIVER_TASK(kKeyboardTask, "ps2kbd", BootPhase::Optional, start_keyboard);

}  // namespace exo
