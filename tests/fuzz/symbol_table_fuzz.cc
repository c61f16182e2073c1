// libFuzzer target for the embedded symbol table's decoder: any blob, any
// address, must not read outside the blob, loop forever or write past the name.
// No CMake target; build and run by hand (clang 14):
//   clang++ -std=c++20 -g -O1 -fsanitize=fuzzer,address,undefined -I. \
//       tests/fuzz/symbol_table_fuzz.cc kernel/debug/symbol_table.cc -o /tmp/symbol_table_fuzz
//   /tmp/symbol_table_fuzz -max_total_time=60 tests/fuzz/corpus/symbol_table
// Input: 8 bytes of address (little-endian), then the blob.
#include <stdint.h>
#include <string.h>

#include <memory>

#include "kernel/debug/symbol_table.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    if (size < 8)
        return 0;
    uint64_t addr;
    memcpy(&addr, data, 8);
    // An exact copy, so ASan flags a read one byte past the blob.
    size_t len = size - 8;
    std::unique_ptr<uint8_t[]> blob(new uint8_t[len]);
    memcpy(blob.get(), data + 8, len);
    exo::SymbolTable table(blob.get(), len);
    exo::SymbolHit hit;
    if (table.lookup(addr, hit)) {
        size_t n = strnlen(hit.name, sizeof hit.name);
        if (n == sizeof hit.name || n == 0 || hit.address > addr)
            __builtin_trap();
    }
    // Nearby addresses reach other entries of the same blob.
    for (uint64_t a : { addr + 1, addr - 1, addr + 0x100, addr ^ 0xFFFF })
        table.lookup(a, hit);
    return 0;
}
