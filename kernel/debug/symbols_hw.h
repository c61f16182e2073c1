// The kernel's own symbol table, embedded by the second link stage.
#pragma once

#include <stdint.h>

#include "kernel/debug/symbol_table.h"

namespace exo {

// The function that holds addr: out.name and out.address (its start).
// By address when name is null, else by name (SymbolTable::find).
bool find_symbol(uint64_t addr, const char* name, SymbolHit& out);
inline bool symbolize(uint64_t addr, SymbolHit& out) { return find_symbol(addr, nullptr, out); }
// The start of the first function called `name`.
inline bool symbol_named(const char* name, SymbolHit& out) { return find_symbol(0, name, out); }

}  // namespace exo
