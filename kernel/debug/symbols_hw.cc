#include "kernel/debug/symbols_hw.h"

// Bounds of the blob placed in .ksyms by kernel/debug/ksyms.S (empty in
// the first link stage).
extern "C" const uint8_t __ksyms_start[];
extern "C" const uint8_t __ksyms_end[];

namespace exo {

bool find_symbol(uint64_t addr, const char* name, SymbolHit& out)
{
    return SymbolTable(__ksyms_start, static_cast<size_t>(__ksyms_end - __ksyms_start)).find(addr, name, out);
}

}  // namespace exo
