// Lookup in the compact symbol table the build embeds (cmake/gen_ksyms.py):
//   u32 magic 'KSYM', u32 count, u64 base,
//   count x { u32 offset from base, u16 size, u16 name offset into strings },
//   sorted by offset, then NUL-terminated names.
// Used to symbolize backtraces; validated so a bad blob can't fault.
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace exo {

constexpr uint32_t kSymbolTableMagic = 0x4D59534B;  // "KSYM" little-endian

struct SymbolHit {
    const char* name = nullptr;
    uint64_t address = 0;
};

class SymbolTable {
public:
    constexpr SymbolTable() = default;
    SymbolTable(const uint8_t* blob, size_t size);

    bool valid() const { return m_count != 0; }
    uint32_t count() const { return m_count; }
    // The symbol with the highest address <= addr (within the table's span).
    bool lookup(uint64_t addr, SymbolHit& out) const;

private:
    uint32_t offset_at(uint32_t i) const;

    const uint8_t* m_blob = nullptr;
    size_t m_size = 0;
    uint32_t m_count = 0;
    uint64_t m_base = 0;
};

}  // namespace exo
