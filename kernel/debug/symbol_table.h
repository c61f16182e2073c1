// Lookup in the compact symbol table the build embeds (cmake/gen_ksyms.py
// writes it from `nm` of the first-stage kernel):
//   i32 base (sign-extended to 64 bits), u8 token count T, u8 character
//   count C (2 + T + C <= 256; no magic: the build makes blob and decoder
//   together),
//   T x { u8, u8 }: the pair of codes token i (code 2 + i) stands for (a
//     pair may hold tokens of its own, nested at most kSymbolTokenDepth deep),
//   C characters ('"'..'~'): code 2 + T + i is character i,
//   then one entry per function in address order, from base to the blob's end:
//     size: digits 224..255 (leading, base 32) then one digit < 224,
//           size = leading * 224 + last;
//     name: codes whose expansion is characters ending with code 0 or, when
//           one byte of padding follows the function, code 1. An empty name
//           is padding.
// Every address of every function resolves; padding and addresses outside
// the table do not. Each lookup is bounded by the blob: a corrupt or truncated
// table yields no hit (or a wrong name), never a read outside it.
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace exo {

constexpr size_t kSymbolNameMax = 63;  // longer names are cut
constexpr unsigned kSymbolTokenDepth = 15;

struct SymbolHit {
    uint64_t address;                    // the function's first byte
    char name[kSymbolNameMax + 1];       // NUL-terminated
};

class SymbolTable {
public:
    constexpr SymbolTable() = default;
    SymbolTable(const uint8_t* blob, size_t size);

    bool valid() const { return m_entries != nullptr; }
    // The function that holds addr: its name and start.
    bool lookup(uint64_t addr, SymbolHit& out) const { return find(addr, nullptr, out); }
    // The first function called exactly `name` (kdb's `x cmd_mem`): its start.
    bool lookup_name(const char* name, SymbolHit& out) const { return find(0, name, out); }
    // One walk for both: by address when name is null, else by name.
    bool find(uint64_t addr, const char* name, SymbolHit& out) const;

private:

    const uint8_t* m_pairs = nullptr;
    const uint8_t* m_chars = nullptr;
    const uint8_t* m_entries = nullptr;
    const uint8_t* m_end = nullptr;
    uint64_t m_base = 0;
    unsigned m_tokens = 0;
    unsigned m_char_count = 0;
};

}  // namespace exo
