// What the "cpu" boot task found and turned on; the shell's `cpu` shows it.
#pragma once

#include <stdint.h>

namespace exo::cpu {

struct CpuFeatures {
    char vendor[13];
    char brand[49];
    uint32_t family, model, stepping;
    bool nx, smep, smap, pge;
};

const CpuFeatures& features();

}  // namespace exo::cpu
