// COM1: the kernel log during boot, then the shell. Output is bounded per
// byte (Uart16550::put), so a stuck UART can slow the kernel but not hang it.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "kernel/lib/format.h"
#include "kernel/lib/result.h"

namespace exo::console {

constexpr uint16_t kCom1 = 0x3F8;
constexpr uint32_t kBaud = 115200;

Result<void> init();
void write(const char* s, size_t n);
// write() as a Sink or Output function (the context is unused).
void write_to(void* ctx, const char* s, size_t n);
void puts(const char* s);
// A sink that writes to COM1.
extern const Sink kSink;
inline Sink sink() { return kSink; }

// Formatted output (exo::format syntax), one non-template call per site
// (format_v, shared with the shell's print).
template<typename... Args>
void print(const char* fmt, Args&&... args)
{
    (void)format_v(kSink, fmt, detail::signature<Args...>(), EXO_FORMAT_WORDS(args));
}

// Non-blocking read of one received byte (polling path; the shell normally
// reads from the IRQ-fed ring instead).
Result<uint8_t> try_read();

// A second output (the VGA text console) that sees everything COM1 gets.
using Mirror = void (*)(const char* s, size_t n);
void set_mirror(Mirror mirror);
void enable_rx_interrupt();

}  // namespace exo::console
