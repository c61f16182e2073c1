// The shell on COM1: the kernel's idle-time consumer once boot is done.
#pragma once

#include "shell/command_table.h"

namespace exo {

[[noreturn]] void shell_main();
const CommandTable& shell_commands();

}  // namespace exo
