// The shell on COM1: the kernel's idle-time consumer once boot is done.
#pragma once

#include "shell/command_table.h"

namespace exo {

// Thread entry: runs the shell on COM1 forever.
void shell_main(void*);
// Null until the shell thread has built its table.
const CommandTable* shell_command_table();

}  // namespace exo
