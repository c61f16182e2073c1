// The set of shell commands: lookup, dispatch of a tokenized line with the
// shell's error conventions, Tab completion, and generated help. `help` is
// built in (a table entry of that name is shadowed).
//
// Output conventions: an unknown command prints
//   error: unknown command 'X' (try help)
// a failing command prints (unless it already reported through ctx.fail)
//   error: <command>: <error name>
// and `--json` anywhere on the line is removed and sets ctx.json().
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "kernel/lib/result.h"
#include "shell/command.h"
#include "shell/line_editor.h"
#include "shell/output.h"

namespace exo {

class CommandTable {
public:
    static constexpr const char* kJsonFlag = "--json";
    // Spaces between the usage column and the summary in `help`.
    static constexpr size_t kHelpColumnGap = 2;

    constexpr CommandTable(const Command* commands, size_t count) : m_commands(commands), m_count(count) {}
    // For linker-section bounds.
    constexpr CommandTable(const Command* begin, const Command* end)
        : m_commands(begin), m_count(static_cast<size_t>(end - begin))
    {
    }

    // Exact match; includes the built-in help. Null when unknown.
    const Command* find(const char* name) const;
    const Command* find(const char* name, size_t length) const;

    // Tokenizes `line[0..length)` and dispatches it. Tokenizer errors print
    // an error line too. An empty line does nothing.
    Result<void> execute(Output& out, const char* line, size_t length,
        CommandOrigin origin = CommandOrigin::Shell) const;

    // argv[0] is the command name. Returns the command's result (NotFound
    // for an unknown command), after printing the error line if any. From
    // the debugger, a kNotInDebugger command is refused (Unsupported).
    Result<void> dispatch(Output& out, int argc, const char* const* argv,
        CommandOrigin origin = CommandOrigin::Shell) const;

    // Candidates for the word under `cursor`: command names for the first
    // word (and for help's argument), the command's first-argument words for
    // the second, --json for any argument starting with '-'.
    void complete(const char* line, size_t cursor, Completions& out) const;
    // Adapter for LineEditor::set_completion(..., table).
    static void completion_callback(void* table, const char* line, size_t cursor, Completions& out);

    // `help` without arguments: every command with its summary, sorted by
    // name, in aligned columns (or one JSON line).
    void print_help(Output& out, OutputFormat format) const;
    // `help NAME`: usage and summary. NotFound (nothing printed) if unknown.
    Result<void> print_command_help(Output& out, OutputFormat format, const char* name) const;

    // The table's own commands (without the built-in help).
    size_t size() const { return m_count; }
    const Command& operator[](size_t index) const { return m_commands[index]; }

private:
    // Next command in name order strictly after `after` (first when null);
    // equal names collapse into one.
    const Command* next_sorted(const char* after) const;

    const Command* m_commands;
    size_t m_count;
};

}  // namespace exo
