// The CPU's protection features, turned on at boot, and its identity; the
// shell's `cpu` shows them.
#pragma once

#include <stdint.h>

namespace exo::cpu {

struct CpuFeatures {
    char vendor[13];
    char brand[49];
    uint32_t family, model, stepping;
    bool nx, smep, smap, pge;
};

// The identity (vendor, brand, family) is read on the first call, not at boot.
const CpuFeatures& features();

// Detects the features and turns PGE, SMEP and SMAP on (boot.S already
// turned NX and WP on). kernel_main calls it first: under TCG, CR4.SMAP is
// part of every translated block's key, so turning it on later made every
// block translated before it be translated again (about 1 ms of boot work
// with -cpu max).
void enable_features();

// Whether EFER.NXE is on (XD honoured), as enable_features found it: a load,
// not an RDMSR.
bool nx_enabled();

}  // namespace exo::cpu
