// The shell on COM1: the kernel's idle-time consumer once boot is done.
#pragma once

namespace exo {

[[noreturn]] void shell_main();

}  // namespace exo
