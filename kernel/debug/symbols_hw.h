// The kernel's own symbol table, embedded by the second link stage.
#pragma once

#include <stdint.h>

#include "kernel/debug/symbol_table.h"

namespace exo {

bool symbolize(uint64_t addr, SymbolHit& out);
uint32_t symbol_count();

}  // namespace exo
