#include "kernel/debug/klog_hw.h"

#include "kernel/arch/x86_64/cpu.h"
#include "kernel/drivers/uart16550/console_hw.h"

namespace exo {
namespace {

constexpr size_t kRingBytes = 8192;

// Constant-initialized, usable from the first instruction of kernel_main; all access
// afterwards happens with interrupts off (InterruptGuard), the kernel's lock
// on a single CPU.
constinit char g_ring_storage[kRingBytes] {};
constinit LogRing g_ring { g_ring_storage, kRingBytes };
constinit LogVerbosity g_verbosity = LogVerbosity::Normal;
constinit LogEcho g_echo = nullptr;

// Quiet prints up to Warn, Normal up to Info, Verbose everything: each
// verbosity lets through one level more than the previous, so a compare
// does what a switch did.
static_assert(static_cast<int>(LogVerbosity::Quiet) + 1 == static_cast<int>(LogLevel::Warn)
    && static_cast<int>(LogVerbosity::Normal) + 1 == static_cast<int>(LogLevel::Info)
    && static_cast<int>(LogVerbosity::Verbose) + 1 == static_cast<int>(LogLevel::Debug));
bool should_print(LogLevel level)
{
    return static_cast<int>(level) <= static_cast<int>(g_verbosity) + 1;
}

void print_line(LogLevel level, const char* text, size_t n)
{
    if (g_echo) {
        g_echo(level, text, n);
        return;
    }
    console::write(text, n);
    console::write("\n", 1);
}

}  // namespace

void klog_set_verbosity(LogVerbosity v) { g_verbosity = v; }
LogVerbosity klog_verbosity() { return g_verbosity; }
void klog_set_echo(LogEcho echo) { g_echo = echo; }
bool klog_prints(LogLevel level) { return should_print(level); }

void klog_line(LogLevel level, const char* text, size_t n)
{
    cpu::InterruptGuard guard;
    cpu::opaque(&g_ring)->append(level, cpu::rdtsc(), text, n);
    if (should_print(level))
        print_line(level, text, n);
}

void klog_v(LogLevel level, const char* fmt, FormatSig sig, ...)
{
    EXO_DECODE_FORMAT_ARGS(sig, args, count)
    char line[192];
    size_t n = format_to_impl(line, sizeof line, fmt, args, count);
    klog_line(level, line, n < sizeof line ? n : sizeof line - 1);
}

void klog(LogLevel level, const char* fmt) { klog_v(level, fmt, 0); }

const LogRing& klog_ring() { return g_ring; }

}  // namespace exo
