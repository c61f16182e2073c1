// Shell commands are declared by the subsystem that owns them:
//   EXO_SHELL_COMMAND(ident, "name", "usage", "summary", &run);
// which places a constinit Command in the .shell_commands linker section;
// the shell builds its CommandTable over that section.
#pragma once

#include "kernel/lib/format.h"
#include "shell/command.h"
#include "shell/json_writer.h"
#include "shell/output.h"
#include "shell/print.h"

namespace exo {

#define EXO_SHELL_COMMAND(ident, cmd_name, usage, summary, ...)                                    \
    [[gnu::used, gnu::aligned(8), gnu::section(".shell_commands." cmd_name)]] constinit const        \
        ::exo::Command ident { cmd_name, usage, summary, __VA_ARGS__ }

// Microseconds with one decimal, right-aligned in `width`.
inline void print_us(CommandContext& ctx, uint64_t ns, int width)
{
    char text[32];
    size_t n = format_to(text, sizeof text, "%u.%u", ns / 1000, (ns % 1000) / 100);
    for (int pad = width - static_cast<int>(n); pad > 0; --pad)
        ctx.out().put(' ');
    ctx.out().puts(text);
}

// Start of every --json line: {"schema":1, ...
inline void begin_json(JsonWriter& json)
{
    json.begin_object();
    json.field_u64("schema", 1);
}

// Closes the one JSON line: the object opened by begin_json, then CRLF.
inline Result<void> end_json(JsonWriter& json)
{
    json.end_object();
    return json.end_line() ? Result<void>() : Error::Corrupt;
}

// The shape most listing commands share: with --json, `{"schema":1, ...,
// "KEY":[ items ]}` on one line (fields before the array go in between
// begin and the first item); otherwise a text table whose header the caller
// prints. finish() closes whichever was opened.
class Listing {
public:
    Listing(CommandContext& ctx, const char* array_key) : m_ctx(ctx), m_json(ctx.out()), m_key(array_key)
    {
        if (ctx.json())
            begin_json(m_json);
    }
    bool json() const { return m_ctx.json(); }
    JsonWriter& writer() { return m_json; }
    // Call once the top-level fields (if any) are written.
    void open_items()
    {
        if (json())
            m_json.begin_array(m_key);
    }
    Result<void> finish()
    {
        if (!json())
            return {};
        m_json.end_array();
        return end_json(m_json);
    }

private:
    CommandContext& m_ctx;
    JsonWriter m_json;
    const char* m_key;
};

}  // namespace exo
