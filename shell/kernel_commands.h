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
#include "shell/record.h"

namespace exo {

#define EXO_SHELL_COMMAND(ident, cmd_name, usage, summary, ...)                                    \
    [[gnu::used, gnu::aligned(1), gnu::section(".shell_commands." cmd_name)]] constinit const        \
        ::exo::Command ident { cmd_name "\0" usage "\0" summary, __VA_ARGS__ }

}  // namespace exo
