// Shell commands are declared by the subsystem that owns them:
//   EXO_SHELL_COMMAND(ident, "name", "usage", "summary", &run);
// which places a constinit Command in the .shell_commands linker section;
// the shell builds its CommandTable over that section.
#pragma once

#include "kernel/lib/format.h"
#include "shell/command.h"
#include "shell/json_writer.h"
#include "shell/output.h"

namespace exo {

#define EXO_SHELL_COMMAND(ident, cmd_name, usage, summary, ...)                                    \
    [[gnu::used, gnu::aligned(8), gnu::section(".shell_commands." cmd_name)]] constinit const        \
        ::exo::Command ident { cmd_name, usage, summary, __VA_ARGS__ }

inline Sink output_sink(Output& out)
{
    return Sink { [](void* ctx, const char* s, size_t n) { static_cast<Output*>(ctx)->write(s, n); }, &out };
}

// printf-style text output for commands ('\n' becomes CRLF on the wire).
template<typename... Args>
void print(CommandContext& ctx, const char* fmt, const Args&... args)
{
    format(output_sink(ctx.out()), fmt, args...);
}

// Start of every --json line: {"schema":1, ...
inline void begin_json(JsonWriter& json)
{
    json.begin_object();
    json.field_u64("schema", 1);
}

}  // namespace exo
