#include "kernel/drivers/uart16550/console_hw.h"

#include "kernel/arch/x86_64/cpu.h"
#include "kernel/arch/x86_64/port_io.h"
#include "kernel/drivers/uart16550/uart16550.h"

namespace exo::console {
namespace {

// Boot-only invariant: configured once by init() before anything prints;
// afterwards only the byte-level THR writes happen, which are safe to
// interleave on one CPU.
constinit Uart16550<X86PortIo> g_com1 { X86PortIo {}, kCom1 };
// Last byte sent, so a '\n' already preceded by '\r' is not doubled.
constinit char g_last = 0;
constinit Mirror g_mirror = nullptr;

}  // namespace

void write_to(void*, const char* s, size_t n) { write(s, n); }

Result<void> init() { return g_com1.init(kBaud); }

void set_mirror(Mirror mirror) { g_mirror = mirror; }

void write(const char* s, size_t n)
{
    // One writer at a time: a log line from an interrupt handler must not
    // land inside another write (g_last, the UART, the VGA mirror's cursor).
    cpu::InterruptGuard guard;
    // Through an opaque pointer: register-relative field accesses in put().
    Uart16550<X86PortIo>* com1 = cpu::opaque(&g_com1);
    // Terminals want CRLF; kernel code writes LF (the shell's editor writes CRLF).
    for (size_t i = 0; i < n; ++i) {
        if (s[i] == '\n' && g_last != '\r')
            com1->put('\r');
        com1->put(static_cast<uint8_t>(s[i]));
        g_last = s[i];
    }
    if (g_mirror)
        g_mirror(s, n);
}

void puts(const char* s) { write(s, __builtin_strlen(s)); }

constinit const Sink kSink { write_to, nullptr };

Result<uint8_t> try_read() { return g_com1.try_get(); }

void enable_rx_interrupt() { g_com1.enable_rx_interrupt(); }

}  // namespace exo::console
