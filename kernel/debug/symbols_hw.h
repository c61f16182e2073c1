// The kernel's own symbol table, embedded by the second link stage.
#pragma once

#include <stdint.h>

#include "kernel/debug/symbol_table.h"

namespace exo {

// The function that holds addr: out.name and out.address (its start).
bool symbolize(uint64_t addr, SymbolHit& out);

}  // namespace exo
