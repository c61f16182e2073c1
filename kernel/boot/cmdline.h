// The kernel command line (contract.md, "Kernel command line"): GRUB passes
// it on the multiboot2 line, PVH boot via -append. Tokens are separated by
// blanks; each is `key=value` or a bare `key`. Unknown options and bad values
// are reported through a callback and ignored, never fatal.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "kernel/lib/names.h"
#include "kernel/lib/result.h"

namespace exo {

// Bounds, so a corrupt or unterminated command line cannot run away.
constexpr size_t kMaxCmdlineLength = 4096;  // bytes scanned, at most
constexpr size_t kMaxTokenLength = 128;     // longer tokens are reported and ignored

enum class DeferredMode : uint8_t {
    Manual,  // Optional-phase drivers wait for `init deferred`
    Auto,    // they start right after the prompt
};

enum class GdbMode : uint8_t {
    On,     // the GDB stub listens on COM2; gdb may attach at any time
    Wait,   // stop in the GDB stub before the Essential phase until gdb attaches
    Panic,  // enter the GDB stub on panic instead of halting
    Off,    // no stub: COM2 is not touched at all
};

enum class LogVerbosity : uint8_t {
    Quiet,
    Normal,
    Verbose,
};

struct KernelOptions {
    DeferredMode deferred = DeferredMode::Manual;
    GdbMode gdb = GdbMode::On;
    LogVerbosity log = LogVerbosity::Normal;
};

// Why a token was ignored (reason text via cmdline_problem_text()).
enum class CmdlineProblem : uint8_t {
    UnknownOption,
    BadValue,
    MissingValue,  // a known key given bare, without `=value`
    TooLong,       // token longer than kMaxTokenLength
};

inline const char* cmdline_problem_text(CmdlineProblem problem)
{
    return name_at("unknown option\0bad value\0missing value\0too long\0", static_cast<size_t>(problem));
}

// Told about every ignored token: its text (not NUL-terminated; at most
// kMaxTokenLength bytes of a longer one) and why.
using UnknownOptionFn = void (*)(void* ctx, const char* token, size_t length, CmdlineProblem problem);

// Applies the recognised options to `out` (later tokens win) and returns how
// many tokens were reported. A null cmdline is an empty one; a null report
// callback just ignores. A first token starting with '/' is the kernel's own
// path (GRUB puts it there) and is skipped.
size_t parse_cmdline(const char* cmdline, KernelOptions& out, UnknownOptionFn report, void* ctx);

// A piece of the command line; not NUL-terminated.
struct CmdlineText {
    const char* text = nullptr;
    size_t length = 0;

    bool equals(const char* s) const;
};

// The value of the last `key=value` token: empty for a bare `key`, NotFound
// when the key is absent. The kernel-path token is skipped as above.
Result<CmdlineText> find_option(const char* cmdline, const char* key);

constexpr const char* deferred_mode_name(DeferredMode mode)
{
    return mode == DeferredMode::Auto ? "auto" : "manual";
}

inline const char* gdb_mode_name(GdbMode mode)
{
    return name_at("on\0wait\0panic\0off\0", static_cast<size_t>(mode));
}

inline const char* log_verbosity_name(LogVerbosity level)
{
    return name_at("quiet\0normal\0verbose\0", static_cast<size_t>(level));
}

}  // namespace exo
