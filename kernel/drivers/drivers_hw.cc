#include "kernel/drivers/drivers_hw.h"

extern "C" const exo::DriverEntry __drivers_start[];
extern "C" const exo::DriverEntry __drivers_end[];

namespace exo {

DriverList drivers() { return { __drivers_start, __drivers_end }; }

const DriverEntry* find_driver(const char* name)
{
    for (const DriverEntry* d = __drivers_start; d != __drivers_end; ++d) {
        if (__builtin_strcmp(d->name, name) == 0)
            return d;
    }
    return nullptr;
}

void driver_detail_v(const char* name, const char* fmt, FormatSig sig, ...)
{
    const DriverEntry* d = find_driver(name);
    if (!d)
        return;
    EXO_DECODE_FORMAT_ARGS(sig, args, count);
    format_to_impl(d->detail, kDriverDetailSize, fmt, args, count);
}

}  // namespace exo
