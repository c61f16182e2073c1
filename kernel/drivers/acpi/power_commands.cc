// `poweroff` and `reboot`.
#include "kernel/drivers/acpi/power_hw.h"
#include "shell/kernel_commands.h"

namespace exo {
namespace {

Result<void> cmd_poweroff(CommandContext&, int, const char* const*) { power::poweroff(); }
Result<void> cmd_reboot(CommandContext&, int, const char* const*) { power::reboot(); }

}  // namespace

EXO_SHELL_COMMAND(kPoweroffCommand, "poweroff", "poweroff", "power off (ACPI S5)", cmd_poweroff,
    nullptr, 0);
EXO_SHELL_COMMAND(kRebootCommand, "reboot", "reboot", "reset the machine", cmd_reboot, nullptr, 0);

}  // namespace exo
