// The kernel log: every line goes into a ring buffer (the shell's `log`
// shows it) and, if its level passes the `log=` option, to the console.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "kernel/boot/cmdline.h"
#include "kernel/lib/format.h"
#include "kernel/debug/log_ring.h"

namespace exo {

void klog_set_verbosity(LogVerbosity v);
LogVerbosity klog_verbosity();
void klog_line(LogLevel level, const char* text, size_t n);
const LogRing& klog_ring();

// While someone edits a shell line, log lines must be printed above it;
// the shell installs a writer for that.
using LogEcho = void (*)(LogLevel level, const char* text, size_t n);
void klog_set_echo(LogEcho echo);
// Whether a line of this level goes to the console (the `log=` option).
bool klog_prints(LogLevel level);

// Formats one line (exo::format syntax) and logs it.
void klog_v(LogLevel level, const char* fmt, FormatSig sig, ...);

template<typename... Args>
void klog(LogLevel level, const char* fmt, Args&&... args)
{
    klog_v(level, fmt, detail::signature<Args...>(), EXO_FORMAT_WORDS(args));
}
// A line without arguments, out of line: the variadic call's signature
// word and %al were set up at each of about ten sites.
[[gnu::noinline]] void klog(LogLevel level, const char* fmt);

template<typename... Args>
void log_info(const char* fmt, Args&&... args) { klog(LogLevel::Info, fmt, args...); }
template<typename... Args>
void log_warn(const char* fmt, Args&&... args) { klog(LogLevel::Warn, fmt, args...); }
template<typename... Args>
void log_error(const char* fmt, Args&&... args) { klog(LogLevel::Error, fmt, args...); }
template<typename... Args>
void log_debug(const char* fmt, Args&&... args) { klog(LogLevel::Debug, fmt, args...); }

}  // namespace exo
