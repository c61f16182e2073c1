// A shell command as a plain descriptor, declared next to the code it
// inspects and collected by the kernel binding (linker section) or, in tests,
// by an array. Commands get a CommandContext instead of parsing --json or
// printing error prefixes themselves.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "kernel/lib/result.h"
#include "shell/line_editor.h"
#include "shell/output.h"

namespace exo {

class CommandContext;
class CommandTable;

using CommandFn = Result<void> (*)(CommandContext& ctx, int argc, const char* const* argv);
// Adds first-argument words known only at run time (e.g. driver names).
using ArgCompleteFn = void (*)(Completions& out);

enum class OutputFormat : uint8_t { Text, Json };

// Packed (26 bytes, not 32): the linker section is an array of these, one
// per command in the image, and x86 reads them unaligned at no cost.
struct [[gnu::packed]] Command {
    // No limit on arguments; the command checks them itself.
    static constexpr uint8_t kAnyArgs = 0xFF;

    // "pages\0pages [VADDR]\0mapped virtual ranges": the name, the usage line
    // (help and usage errors), then the one-line summary for help, each after
    // the NUL of the one before. One pointer for the three: there is one of
    // these for every command in the image.
    const char* name;
    CommandFn run;        // argv[0] is the name; --json is already removed
    // Words for the first argument (may be null): fixed ones through
    // Completions::add_all. One field for both kinds: there is one of these
    // for every command in the image, and few commands complete at all.
    ArgCompleteFn complete_arg = nullptr;
    // More arguments than this (not counting argv[0]) is a usage error,
    // reported by the table before run() is called.
    uint8_t max_args = kAnyArgs;
    // kNotInDebugger: the command blocks, sleeps, spawns threads or faults,
    // so `monitor` (run inside gdb's stop, on whatever was interrupted)
    // refuses it.
    uint8_t flags = 0;
    static constexpr uint8_t kNotInDebugger = 1;

    const char* usage() const { return name + __builtin_strlen(name) + 1; }
    const char* summary() const { return usage() + __builtin_strlen(usage()) + 1; }
    // Whether the usage line offers --json: the telemetry commands. The
    // others refuse it, and `watch` takes only these.
    bool has_json() const;
};

// Where a command line comes from.
enum class CommandOrigin : uint8_t { Shell, Debugger };

class CommandContext {
public:
    CommandContext(Output& out, OutputFormat format, const Command& command, const CommandTable* table)
        : m_out(out), m_format(format), m_command(command), m_table(table)
    {
    }

    Output& out() { return m_out; }
    OutputFormat format() const { return m_format; }
    bool json() const { return m_format == OutputFormat::Json; }
    const Command& command() const { return m_command; }
    const CommandTable* table() const { return m_table; }

    // Prints "error: <command>: <detail>" (detail defaults to the error's
    // name) and returns `error`, so `return ctx.fail(...)` reports once:
    // the table prints nothing more for an error the command reported.
    Result<void> fail(Error error, const char* detail = nullptr)
    {
        return fail(error, detail != nullptr ? detail : error_name(error), nullptr);
    }

    // "error: <command>: <detail> '<argument>'", e.g. a bad address (a null
    // argument leaves out the quoted part).
    [[gnu::noinline]] Result<void> fail(Error error, const char* detail, const char* argument)
    {
        // One formatted line (%s of the name stops at its NUL). The name is
        // copied first: format() takes references, and Command is packed.
        const char* name = m_command.name;
        (void)exo::format(m_out.sink(), argument != nullptr ? "error: %s: %s '%s'\r\n" : "error: %s: %s\r\n",
            name, detail, argument);
        m_reported = true;
        return error;
    }

    // "error: usage: <usage>", InvalidArgument.
    Result<void> usage_error()
    {
        m_out.puts("error: usage: ");
        m_out.puts(m_command.usage());
        m_out.newline();
        m_reported = true;
        return Error::InvalidArgument;
    }

    bool reported() const { return m_reported; }

private:
    Output& m_out;
    OutputFormat m_format;
    const Command& m_command;
    const CommandTable* m_table;
    bool m_reported { false };
};

}  // namespace exo
